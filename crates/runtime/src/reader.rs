//! JSON-lines event reading with line numbers and per-line errors.
//!
//! A bad line (invalid JSON, not an object, invalid UTF-8) is reported with its
//! 1-based line number and reading goes on; blank lines are skipped.

use std::io::BufRead;

/// Why one line is not an event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Reading failed.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    /// The line is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The line is JSON but not an object.
    #[error("not a JSON object")]
    NotAnObject,
}

/// An event with the line it came from.
#[derive(Debug)]
pub struct Line {
    /// 1-based line number in the input.
    pub number: u64,
    /// The parsed event, or why the line is not one.
    pub event: Result<serde_json::Value, LineError>,
}

/// Iterates over the events of a JSON-lines input.
pub struct JsonLines<R> {
    input: R,
    number: u64,
    buffer: Vec<u8>,
    /// A read error ends the input (a truncated `.gz` would fail forever).
    failed: bool,
}

impl<R: BufRead> JsonLines<R> {
    /// Reads events from `input`.
    pub fn new(input: R) -> Self {
        JsonLines {
            input,
            number: 0,
            buffer: Vec::with_capacity(4096),
            failed: false,
        }
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        if self.failed {
            return None;
        }
        loop {
            self.buffer.clear();
            match self.input.read_until(b'\n', &mut self.buffer) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.number += 1;
                    self.failed = true;
                    return Some(Line {
                        number: self.number,
                        event: Err(LineError::Io(e)),
                    });
                }
            }
            self.number += 1;
            if self.buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let event = serde_json::from_slice::<serde_json::Value>(&self.buffer)
                .map_err(LineError::from)
                .and_then(|v| {
                    if v.is_object() {
                        Ok(v)
                    } else {
                        Err(LineError::NotAnObject)
                    }
                });
            return Some(Line {
                number: self.number,
                event,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_and_reading_goes_on() {
        let input = b"{\"a\":1}\n\nnot json\n[1]\n{\"b\":2}" as &[u8];
        let lines: Vec<Line> = JsonLines::new(input).collect();
        let summary: Vec<(u64, bool)> = lines.iter().map(|l| (l.number, l.event.is_ok())).collect();
        assert_eq!(summary, vec![(1, true), (3, false), (4, false), (5, true)]);
    }

    /// A reader that fails after its content, every time it is asked.
    struct Failing(&'static [u8]);

    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "cut",
                ));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_ends_the_input() {
        let input = std::io::BufReader::new(Failing(b"{\"a\":1}\n{\"b\""));
        let lines: Vec<Line> = JsonLines::new(input).take(10).collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].event.is_ok() && matches!(lines[1].event, Err(LineError::Io(_))));
    }
}
