//! An event under construction: its header and a reusable list of fields,
//! written into one text buffer so that building an event allocates nothing
//! in steady state.

use std::fmt::Write as _;

/// A field value.
#[derive(Clone, Copy)]
pub enum Val {
    /// Text at `start..end` of [`Fields::text`].
    Str(u32, u32),
    /// A JSON number.
    Num(u64),
}

/// The fields of one event, in order.
#[derive(Default)]
pub struct Fields {
    pub names: Vec<&'static str>,
    pub values: Vec<Val>,
    pub text: String,
}

impl Fields {
    /// Empties the list, keeping its capacity.
    pub fn clear(&mut self) {
        self.names.clear();
        self.values.clear();
        self.text.clear();
    }

    /// Adds a text field.
    pub fn str(&mut self, name: &'static str, value: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(value);
        self.names.push(name);
        self.values.push(Val::Str(start, self.text.len() as u32));
    }

    /// Adds a text field built with `format_args!`.
    pub fn fmt(&mut self, name: &'static str, args: std::fmt::Arguments<'_>) {
        let start = self.text.len() as u32;
        let _ = self.text.write_fmt(args);
        self.names.push(name);
        self.values.push(Val::Str(start, self.text.len() as u32));
    }

    /// Adds a Sysmon-style time (`2026-11-02 08:01:12.120`).
    pub fn utc_time(&mut self, name: &'static str, ms: u64) {
        let start = self.text.len() as u32;
        let mut bytes = Vec::with_capacity(23);
        time_into(&mut bytes, ms, true);
        self.text
            .push_str(std::str::from_utf8(&bytes).unwrap_or_default());
        self.names.push(name);
        self.values.push(Val::Str(start, self.text.len() as u32));
    }

    /// Adds a number field.
    pub fn num(&mut self, name: &'static str, value: u64) {
        self.names.push(name);
        self.values.push(Val::Num(value));
    }

    /// The text of a value.
    pub fn get(&self, v: Val) -> Option<&str> {
        match v {
            Val::Str(s, e) => self.text.get(s as usize..e as usize),
            Val::Num(_) => None,
        }
    }
}

/// The header every Windows event has.
pub struct Header {
    pub channel: &'static str,
    pub provider: &'static str,
    pub provider_guid: &'static str,
    pub event_id: u32,
    pub version: u32,
    pub level: u32,
    pub task: u32,
    pub keywords: &'static str,
    pub record_id: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub computer_index: usize,
    pub process_id: u32,
    pub thread_id: u32,
    pub user_sid: &'static str,
}

/// Appends `s` JSON-escaped (without quotes). Runs of bytes that need no
/// escape are found eight bytes at a time.
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Skip whole words with no '"', no '\\' and no control character.
        while i + 8 <= bytes.len() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[i..i + 8]);
            if needs_escape(u64::from_le_bytes(word)) {
                break;
            }
            i += 8;
        }
        let Some(&b) = bytes.get(i) else { break };
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                let _ = std::io::Write::write_fmt(out, format_args!("\\u{b:04x}"));
                i += 1;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether any byte of the word is '"', '\\' or below 0x20 (SWAR).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    has_zero(word ^ (ONES * u64::from(b'"')))
        | has_zero(word ^ (ONES * u64::from(b'\\')))
        | below_space
        != 0
}

/// Appends `YYYY-MM-DDTHH:MM:SS.mmmZ` (or with a space and no `Z` when `sysmon`).
pub fn time_into(out: &mut Vec<u8>, ms: u64, sysmon: bool) {
    let (y, mo, d, h, mi, s, frac) = civil(ms);
    let two = |out: &mut Vec<u8>, n: u32| {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8])
    };
    let y = y.clamp(0, 9999) as u32;
    out.extend_from_slice(&[
        b'0' + (y / 1000) as u8,
        b'0' + (y / 100 % 10) as u8,
        b'0' + (y / 10 % 10) as u8,
        b'0' + (y % 10) as u8,
        b'-',
    ]);
    two(out, mo);
    out.push(b'-');
    two(out, d);
    out.push(if sysmon { b' ' } else { b'T' });
    two(out, h);
    out.push(b':');
    two(out, mi);
    out.push(b':');
    two(out, s);
    out.push(b'.');
    out.extend_from_slice(&[
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
    if !sysmon {
        out.push(b'Z');
    }
}

/// Appends a number in decimal.
pub fn number_into(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Civil date and time of a Unix time in milliseconds.
pub fn civil(ms: u64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        ((rem / 60) % 60) as u32,
        (rem % 60) as u32,
        (ms % 1000) as u32,
    )
}

/// `2026-11-02 08:01:12.120` (Sysmon's UtcTime).
#[cfg(test)]
pub fn utc_time(ms: u64) -> impl std::fmt::Display {
    let (y, mo, d, h, mi, s, frac) = civil(ms);
    DisplayFn(move |f| write!(f, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{frac:03}"))
}

/// `2026-11-02T08:01:12.120Z` (ISO 8601, UTC).
#[cfg(test)]
pub fn iso_time(ms: u64) -> impl std::fmt::Display {
    let (y, mo, d, h, mi, s, frac) = civil(ms);
    DisplayFn(move |f| write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:03}Z"))
}

#[cfg(test)]
struct DisplayFn<F: Fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result>(F);

#[cfg(test)]
impl<F: Fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result> std::fmt::Display for DisplayFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (self.0)(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(iso_time(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso_time(1_793_606_472_120).to_string(),
            "2026-11-02T08:01:12.120Z"
        );
        assert_eq!(
            utc_time(951_782_400_000).to_string(),
            "2000-02-29 00:00:00.000"
        );
    }

    #[test]
    fn fast_time_matches_display() {
        for ms in [0, 951_782_400_000, 1_793_606_472_120, 4_102_444_799_999] {
            let mut out = Vec::new();
            time_into(&mut out, ms, false);
            assert_eq!(String::from_utf8(out).unwrap(), iso_time(ms).to_string());
            let mut out = Vec::new();
            time_into(&mut out, ms, true);
            assert_eq!(String::from_utf8(out).unwrap(), utc_time(ms).to_string());
        }
    }

    #[test]
    fn escaping_long_and_short() {
        for s in [
            "plain text that is long enough",
            "a\\b",
            "0123456\"",
            "x\u{7f}y\u{1f}",
            "ünïcödé \\ text",
            "",
        ] {
            let mut out = Vec::new();
            escape_into(&mut out, s);
            let json = format!("\"{}\"", String::from_utf8(out).unwrap());
            assert_eq!(serde_json::from_str::<String>(&json).unwrap(), s);
        }
    }

    #[test]
    fn escaping() {
        let mut out = Vec::new();
        escape_into(&mut out, "C:\\a \"b\"\n\u{1}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "C:\\\\a \\\"b\\\"\\n\\u0001"
        );
    }
}
