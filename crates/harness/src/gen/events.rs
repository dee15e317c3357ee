//! The event types the generator writes, with realistic field sets: Sysmon 1,
//! 3, 7, 11, 13, 22; Security 4688, 4624, 4625, 5145, 4663; PowerShell 4104.
//! Processes form trees: each host remembers the last process of each image,
//! which later events use as parent or as actor.

use super::fields::{Fields, Header};
use super::rng::Rng;
use super::vocab::{Attack, ProcessTemplate, Vocabulary};

const SYSMON: (&str, &str, &str) = (
    "Microsoft-Windows-Sysmon/Operational",
    "Microsoft-Windows-Sysmon",
    "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
);
const SECURITY: (&str, &str, &str) = (
    "Security",
    "Microsoft-Windows-Security-Auditing",
    "{54849625-5478-4994-a5ba-3e3b0328c30d}",
);
const POWERSHELL: (&str, &str, &str) = (
    "Microsoft-Windows-PowerShell/Operational",
    "Microsoft-Windows-PowerShell",
    "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}",
);

/// A process known on a host.
#[derive(Clone, Default)]
pub struct Proc {
    pub image: String,
    pub command: String,
    pub pid: u64,
    pub guid: String,
    pub user: String,
}

/// The fields every Sysmon event of a process starts with.
fn sysmon_actor_fields_without_image(f: &mut Fields, h: &Header, p: &Proc) {
    f.clear();
    f.str("RuleName", "-");
    f.utc_time("UtcTime", h.time_ms);
    f.str("ProcessGuid", &p.guid);
    f.num("ProcessId", p.pid);
}

/// [`sysmon_actor_fields_without_image`] and the process image.
fn sysmon_actor_fields(f: &mut Fields, h: &Header, p: &Proc) {
    sysmon_actor_fields_without_image(f, h, p);
    f.str("Image", &p.image);
}

/// Generator state: vocabulary, randomness, process trees, clock, record ids.
pub struct World<'v> {
    pub vocab: &'v Vocabulary,
    pub rng: Rng,
    cumulative: Vec<u64>,
    /// Last process of each image on each host: `[host][image index]`.
    last: Vec<Vec<Option<Proc>>>,
    images: Vec<String>,
    pub time_ms: u64,
    pub record_id: u64,
    scratch: String,
    hash_cache: std::collections::HashMap<String, String>,
}

impl<'v> World<'v> {
    /// A world for a seed.
    pub fn new(vocab: &'v Vocabulary, seed: u64) -> Self {
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for p in &vocab.processes {
            total += u64::from(p.weight);
            cumulative.push(total);
        }
        let mut images: Vec<String> = vocab.processes.iter().map(|p| p.image.clone()).collect();
        for p in &vocab.processes {
            for parent in &p.parents {
                if !images.contains(parent) {
                    images.push(parent.clone());
                }
            }
        }
        World {
            vocab,
            rng: Rng::new(seed),
            cumulative,
            last: vec![vec![None; images.len() + 16]; vocab.hosts.len()],
            images,
            // 2026-11-02T08:00:00Z
            time_ms: 1_793_606_400_000,
            record_id: 1000,
            scratch: String::new(),
            hash_cache: std::collections::HashMap::new(),
        }
    }

    /// Advances the clock and the record id; returns a header for an event.
    fn header(
        &mut self,
        source: (&'static str, &'static str, &'static str),
        event_id: u32,
        task: u32,
        host: usize,
    ) -> Header {
        self.time_ms += self.rng.range(1, 40);
        self.record_id += 1;
        let security = source.0 == "Security";
        Header {
            channel: source.0,
            provider: source.1,
            provider_guid: source.2,
            event_id,
            version: if security { 2 } else { 5 },
            level: if security { 0 } else { 4 },
            task,
            keywords: if security {
                "0x8020000000000000"
            } else {
                "0x8000000000000000"
            },
            record_id: self.record_id,
            time_ms: self.time_ms,
            computer_index: host,
            process_id: if security { 4 } else { 3120 },
            thread_id: self.rng.range(1000, 9000) as u32,
            user_sid: "S-1-5-18",
        }
    }

    fn guid(&mut self) -> String {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        format!(
            "{{{:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    /// The user of a new process: services keep their parent's service
    /// account (or SYSTEM), `inherit` takes the parent's, interactive processes
    /// run as their parent's user, or as a domain user under a service parent.
    fn user_for(&mut self, template: &ProcessTemplate, parent_user: &str) -> String {
        let parent_is_service = self.vocab.service_users.iter().any(|s| s == parent_user);
        match template.user.as_str() {
            "service" if parent_is_service => parent_user.to_string(),
            "service" => self.vocab.service_users[0].clone(),
            "inherit" if !parent_user.is_empty() => parent_user.to_string(),
            _ if !parent_user.is_empty() && !parent_is_service => parent_user.to_string(),
            _ => format!(
                "{}\\{}",
                self.vocab.domain,
                self.rng.pick(&self.vocab.users)
            ),
        }
    }

    /// The parent of a new process of `template`: the known process of that
    /// image, except that an interactive process gets a parent running as an
    /// interactive user (a new one when the known parent runs as a service).
    fn parent_for(&mut self, host: usize, template: &ProcessTemplate, image: &str) -> Proc {
        let parent = self.process_of(host, image);
        let parent_is_service = self.vocab.service_users.contains(&parent.user);
        if template.user != "interactive" || !parent_is_service {
            return parent;
        }
        let user = format!(
            "{}\\{}",
            self.vocab.domain,
            self.rng.pick(&self.vocab.users)
        );
        let proc = Proc {
            user,
            pid: self.rng.range(300, 12_000),
            guid: self.guid(),
            ..parent
        };
        self.remember(host, &proc);
        proc
    }

    /// Fills `{n}`, `{user}`, `{doc}`, `{url}`, `{guid}`, `{tmp}`, `{sid}`.
    fn expand(&mut self, template: &str, user: &str) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start..];
            let end = after.find('}').map_or(after.len(), |e| e + 1);
            match &after[..end] {
                "{n}" => out.push_str(&self.rng.range(1000, 99_999_999).to_string()),
                "{user}" => out.push_str(user.rsplit('\\').next().unwrap_or(user)),
                "{doc}" => out.push_str(self.rng.pick(&self.vocab.documents).as_str()),
                "{url}" => out.push_str(self.rng.pick(&self.vocab.urls).as_str()),
                "{guid}" => out.push_str(&self.guid()),
                "{sid}" => out.push_str(&format!(
                    "S-1-5-21-3623811015-3361044348-30300820-{}",
                    self.rng.range(1100, 1200)
                )),
                "{tmp}" => {
                    for _ in 0..8 {
                        out.push(char::from(b'a' + self.rng.below(26) as u8));
                    }
                }
                other => out.push_str(other),
            }
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }

    fn image_index(&mut self, image: &str) -> usize {
        match self.images.iter().position(|i| i == image) {
            Some(i) => i,
            None => {
                self.images.push(image.to_string());
                for host in &mut self.last {
                    host.resize(self.images.len() + 16, None);
                }
                self.images.len() - 1
            }
        }
    }

    /// The known process of an image on a host, created when first needed.
    fn process_of(&mut self, host: usize, image: &str) -> Proc {
        let i = self.image_index(image);
        if let Some(p) = &self.last[host][i] {
            return p.clone();
        }
        let template = self.vocab.processes.iter().find(|t| t.image == image);
        let command = match template {
            Some(t) => {
                let c = self.rng.pick(&t.commands).clone();
                self.expand(&c, "SYSTEM")
            }
            None => image.to_string(),
        };
        let proc = Proc {
            image: image.to_string(),
            command,
            pid: self.rng.range(300, 12_000),
            guid: self.guid(),
            user: "NT AUTHORITY\\SYSTEM".into(),
        };
        self.last[host][i] = Some(proc.clone());
        proc
    }

    fn remember(&mut self, host: usize, proc: &Proc) {
        let i = self.image_index(&proc.image);
        self.last[host][i] = Some(proc.clone());
    }

    fn pick_template(&mut self) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1);
        let r = self.rng.below(total);
        self.cumulative.partition_point(|&c| c <= r)
    }

    fn hashes(&mut self, image: &str) -> String {
        if let Some(h) = self.hash_cache.get(image) {
            return h.clone();
        }
        let h = Self::compute_hashes(image);
        self.hash_cache.insert(image.to_string(), h.clone());
        h
    }

    fn compute_hashes(image: &str) -> String {
        // Stable per image: the same binary has the same hashes everywhere.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in image.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut r = Rng::new(h);
        let hex = |r: &mut Rng, n: usize| -> String {
            (0..n)
                .map(|_| format!("{:016X}", r.next_u64()))
                .collect::<String>()
        };
        let sha1 = &hex(&mut r, 3)[..40];
        let md5 = &hex(&mut r, 2)[..32];
        let sha256 = hex(&mut r, 4);
        let imphash = &hex(&mut r, 2)[..32];
        format!("SHA1={sha1},MD5={md5},SHA256={sha256},IMPHASH={imphash}")
    }

    fn pick_host(&mut self) -> usize {
        self.rng.below(self.vocab.hosts.len() as u64) as usize
    }

    /// A benign process creation (Sysmon 1, or Security 4688 when `security`).
    pub fn process_creation(&mut self, f: &mut Fields, security: bool) -> Header {
        let host = self.pick_host();
        let t = self.pick_template();
        let template = &self.vocab.processes[t];
        let parent_image = self.rng.pick(&template.parents).clone();
        let parent = self.parent_for(host, template, &parent_image);
        let user = self.user_for(template, &parent.user);
        let image = self.expand(&template.image, &user);
        let command_template = self.rng.pick(&template.commands).clone();
        let command = self.expand(&command_template, &user);
        let proc = Proc {
            image,
            command,
            pid: self.rng.range(300, 30_000),
            guid: self.guid(),
            user,
        };
        self.remember(host, &proc);
        let (original, company, description) = (
            template.original.clone(),
            template.company.clone(),
            template.description.clone(),
        );
        self.write_process(
            f,
            host,
            &proc,
            &parent,
            security,
            &original,
            &company,
            &description,
        )
    }

    /// A planted attack as a process creation.
    pub fn attack(&mut self, f: &mut Fields, attack: &Attack, security: bool) -> Header {
        let host = self.pick_host();
        let user = format!(
            "{}\\{}",
            self.vocab.domain,
            self.rng.pick(&self.vocab.users)
        );
        let parent_command = self.expand(&attack.parent_command, &user);
        let parent = Proc {
            image: attack.parent.clone(),
            command: parent_command,
            pid: self.rng.range(300, 12_000),
            guid: self.guid(),
            user: user.clone(),
        };
        let command = self.expand(&attack.command, &user);
        let proc = Proc {
            image: attack.image.clone(),
            command,
            pid: self.rng.range(300, 30_000),
            guid: self.guid(),
            user,
        };
        self.write_process(
            f,
            host,
            &proc,
            &parent,
            security,
            "Cmd.Exe",
            "Microsoft Corporation",
            "Windows Command Processor",
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn write_process(
        &mut self,
        f: &mut Fields,
        host: usize,
        proc: &Proc,
        parent: &Proc,
        security: bool,
        original: &str,
        company: &str,
        description: &str,
    ) -> Header {
        f.clear();
        if security {
            let h = self.header(SECURITY, 4688, 13312, host);
            let (domain, name) = proc.user.split_once('\\').unwrap_or(("", &proc.user));
            f.str("SubjectUserSid", "S-1-5-18");
            f.fmt(
                "SubjectUserName",
                format_args!("{}$", self.vocab.hosts[host]),
            );
            f.str("SubjectDomainName", &self.vocab.domain);
            f.str("SubjectLogonId", "0x3e7");
            f.fmt("NewProcessId", format_args!("0x{:x}", proc.pid));
            f.str("NewProcessName", &proc.image);
            f.str("TokenElevationType", "%%1936");
            f.fmt("ProcessId", format_args!("0x{:x}", parent.pid));
            f.str("CommandLine", &proc.command);
            f.str("TargetUserSid", "S-1-0-0");
            f.str("TargetUserName", name);
            f.str("TargetDomainName", domain);
            f.fmt(
                "TargetLogonId",
                format_args!("0x{:x}", self.rng.range(0x10000, 0xffffff)),
            );
            f.str("ParentProcessName", &parent.image);
            f.str(
                "MandatoryLabel",
                if proc.user.starts_with("NT AUTHORITY") {
                    "S-1-16-16384"
                } else {
                    "S-1-16-8192"
                },
            );
            return h;
        }
        let h = self.header(SYSMON, 1, 1, host);
        let cwd = if proc.user.starts_with("NT AUTHORITY") {
            "C:\\Windows\\system32\\".to_string()
        } else {
            format!(
                "C:\\Users\\{}\\",
                proc.user.rsplit('\\').next().unwrap_or("")
            )
        };
        f.str("RuleName", "-");
        f.utc_time("UtcTime", h.time_ms);
        f.str("ProcessGuid", &proc.guid);
        f.num("ProcessId", proc.pid);
        f.str("Image", &proc.image);
        f.str("FileVersion", "10.0.19041.3636 (WinBuild.160101.0800)");
        f.str("Description", description);
        f.str("Product", "Microsoft® Windows® Operating System");
        f.str("Company", company);
        f.str("OriginalFileName", original);
        f.str("CommandLine", &proc.command);
        f.str("CurrentDirectory", &cwd);
        f.str("User", &proc.user);
        f.fmt(
            "LogonGuid",
            format_args!(
                "{{3f2504e0-4f89-11d3-9a0c-{:012x}}}",
                self.rng.next_u64() & 0xffff_ffff_ffff
            ),
        );
        f.fmt(
            "LogonId",
            format_args!("0x{:x}", self.rng.range(0x3e7, 0xffffff)),
        );
        f.num(
            "TerminalSessionId",
            if proc.user.starts_with("NT AUTHORITY") {
                0
            } else {
                1
            },
        );
        f.str(
            "IntegrityLevel",
            if proc.user.starts_with("NT AUTHORITY") {
                "System"
            } else {
                "Medium"
            },
        );
        let hashes = self.hashes(&proc.image);
        f.str("Hashes", &hashes);
        f.str("ParentProcessGuid", &parent.guid);
        f.num("ParentProcessId", parent.pid);
        f.str("ParentImage", &parent.image);
        f.str("ParentCommandLine", &parent.command);
        f.str("ParentUser", &parent.user);
        h
    }

    /// Any process known on a host (for events whose actor is a process).
    fn actor(&mut self, host: usize) -> Proc {
        let t = self.pick_template();
        let image = self.vocab.processes[t].image.clone();
        let image = if image.contains('{') {
            "C:\\Windows\\explorer.exe".to_string()
        } else {
            image
        };
        self.process_of(host, &image)
    }

    /// A process that talks to the network (browsers, services, updaters).
    fn network_actor(&mut self, host: usize) -> Proc {
        let image = self.rng.pick(&self.vocab.network_processes).clone();
        self.process_of(host, &image)
    }

    /// Sysmon 3: network connection.
    pub fn network(&mut self, f: &mut Fields) -> Header {
        let host = self.pick_host();
        let p = self.network_actor(host);
        let h = self.header(SYSMON, 3, 3, host);
        sysmon_actor_fields(f, &h, &p);
        f.str("User", &p.user);
        f.str("Protocol", "tcp");
        f.str("Initiated", "true");
        f.str("SourceIsIpv6", "false");
        f.fmt("SourceIp", format_args!("10.20.{}.{}", host, 10 + host));
        f.fmt(
            "SourceHostname",
            format_args!("{}.contoso.local", self.vocab.hosts[host]),
        );
        f.num("SourcePort", self.rng.range(49152, 65535));
        f.str("SourcePortName", "-");
        f.str("DestinationIsIpv6", "false");
        f.fmt(
            "DestinationIp",
            format_args!(
                "{}.{}.{}.{}",
                self.rng.pick(&[13u64, 20, 40, 52, 104, 142]),
                self.rng.range(1, 254),
                self.rng.range(1, 254),
                self.rng.range(1, 254)
            ),
        );
        let domain = self.rng.pick(&self.vocab.domains).clone();
        f.str("DestinationHostname", &domain);
        f.num(
            "DestinationPort",
            *self.rng.pick(&[443u64, 443, 443, 80, 53]),
        );
        f.str("DestinationPortName", "https");
        h
    }

    /// Sysmon 7: image loaded.
    pub fn image_load(&mut self, f: &mut Fields) -> Header {
        let host = self.pick_host();
        let p = self.actor(host);
        let h = self.header(SYSMON, 7, 7, host);
        let dll = self.rng.pick(&self.vocab.dlls).clone();
        sysmon_actor_fields(f, &h, &p);
        f.str("ImageLoaded", &dll);
        f.str("FileVersion", "10.0.19041.3636 (WinBuild.160101.0800)");
        f.str("Description", "Windows NT BASE API Client DLL");
        f.str("Product", "Microsoft® Windows® Operating System");
        f.str("Company", "Microsoft Corporation");
        f.str("OriginalFileName", dll.rsplit('\\').next().unwrap_or(""));
        let hashes = self.hashes(&dll);
        f.str("Hashes", &hashes);
        f.str("Signed", "true");
        f.str("Signature", "Microsoft Windows");
        f.str("SignatureStatus", "Valid");
        f.str("User", &p.user);
        h
    }

    /// Sysmon 11: file created.
    pub fn file_create(&mut self, f: &mut Fields) -> Header {
        let host = self.pick_host();
        let p = self.actor(host);
        let h = self.header(SYSMON, 11, 11, host);
        let user = p.user.rsplit('\\').next().unwrap_or("user").to_string();
        let n = self.rng.range(1000, 999_999);
        sysmon_actor_fields(f, &h, &p);
        match self.rng.below(3) {
            0 => f.fmt("TargetFilename", format_args!("C:\\Users\\{user}\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Cache\\Cache_Data\\f_{n:06x}")),
            1 => f.fmt("TargetFilename", format_args!("C:\\Windows\\Prefetch\\{}-{n:08X}.pf", p.image.rsplit('\\').next().unwrap_or("X").to_uppercase())),
            _ => f.fmt("TargetFilename", format_args!("C:\\Users\\{user}\\Documents\\~$draft{n}.docx")),
        }
        f.utc_time("CreationUtcTime", h.time_ms);
        f.str("User", &p.user);
        h
    }

    /// Sysmon 13: registry value set.
    pub fn registry_set(&mut self, f: &mut Fields) -> Header {
        let host = self.pick_host();
        let p = self.actor(host);
        let h = self.header(SYSMON, 13, 13, host);
        let key = self.rng.pick(&self.vocab.registry_keys).clone();
        let key = self.expand(&key, &p.user);
        f.clear();
        f.str("RuleName", "-");
        f.str("EventType", "SetValue");
        f.utc_time("UtcTime", h.time_ms);
        f.str("ProcessGuid", &p.guid);
        f.num("ProcessId", p.pid);
        f.str("Image", &p.image);
        f.str("TargetObject", &key);
        f.fmt(
            "Details",
            format_args!("DWORD (0x{:08x})", self.rng.below(4)),
        );
        f.str("User", &p.user);
        h
    }

    /// Sysmon 22: DNS query.
    pub fn dns(&mut self, f: &mut Fields) -> Header {
        let host = self.pick_host();
        let p = self.network_actor(host);
        let h = self.header(SYSMON, 22, 22, host);
        let domain = self.rng.pick(&self.vocab.domains).clone();
        sysmon_actor_fields_without_image(f, &h, &p);
        f.str("QueryName", &domain);
        f.str("QueryStatus", "0");
        f.fmt(
            "QueryResults",
            format_args!(
                "::ffff:{}.{}.{}.{};",
                self.rng.range(13, 200),
                self.rng.range(1, 254),
                self.rng.range(1, 254),
                self.rng.range(1, 254)
            ),
        );
        f.str("Image", &p.image);
        f.str("User", &p.user);
        h
    }

    /// Security 4624 (logon) or 4625 (failed logon).
    pub fn logon(&mut self, f: &mut Fields, failed: bool) -> Header {
        let host = self.pick_host();
        self.logon_as(f, host, failed, None)
    }

    /// A logon on `host`; `planted` fixes the account and source address of
    /// a network logon (type 3), else they are drawn at random.
    pub fn logon_as(
        &mut self,
        f: &mut Fields,
        host: usize,
        failed: bool,
        planted: Option<(&str, &str)>,
    ) -> Header {
        let h = self.header(SECURITY, if failed { 4625 } else { 4624 }, 12544, host);
        let user = match planted {
            Some((user, _)) => user.to_string(),
            None => self.rng.pick(&self.vocab.users).clone(),
        };
        let logon_type = match planted {
            Some(_) => 3,
            None => *self.rng.pick(&[2u64, 3, 3, 3, 5, 7, 10]),
        };
        f.clear();
        f.str("SubjectUserSid", "S-1-5-18");
        f.fmt(
            "SubjectUserName",
            format_args!("{}$", self.vocab.hosts[host]),
        );
        f.str("SubjectDomainName", &self.vocab.domain);
        f.str("SubjectLogonId", "0x3e7");
        f.fmt(
            "TargetUserSid",
            format_args!(
                "S-1-5-21-3623811015-3361044348-30300820-{}",
                self.rng.range(1100, 1200)
            ),
        );
        f.str("TargetUserName", &user);
        f.str("TargetDomainName", &self.vocab.domain);
        if failed {
            f.str("Status", "0xc000006d");
            f.str("SubStatus", "0xc000006a");
            f.str("FailureReason", "%%2313");
        } else {
            f.fmt(
                "TargetLogonId",
                format_args!("0x{:x}", self.rng.range(0x10000, 0xffffff)),
            );
        }
        f.num("LogonType", logon_type);
        f.str(
            "LogonProcessName",
            if logon_type == 3 {
                "NtLmSsp "
            } else {
                "User32 "
            },
        );
        f.str(
            "AuthenticationPackageName",
            if logon_type == 3 { "NTLM" } else { "Negotiate" },
        );
        f.str(
            "WorkstationName",
            self.rng.pick(&self.vocab.hosts).clone().as_str(),
        );
        f.str("LogonGuid", "{00000000-0000-0000-0000-000000000000}");
        f.str("TransmittedServices", "-");
        f.str(
            "LmPackageName",
            if logon_type == 3 { "NTLM V2" } else { "-" },
        );
        f.num("KeyLength", if logon_type == 3 { 128 } else { 0 });
        f.str("ProcessId", "0x2f0");
        f.str("ProcessName", "C:\\Windows\\System32\\lsass.exe");
        match planted {
            Some((_, ip)) => f.str("IpAddress", ip),
            None => f.fmt(
                "IpAddress",
                format_args!("10.20.{}.{}", self.rng.below(12), self.rng.range(10, 250)),
            ),
        }
        f.num("IpPort", self.rng.range(49152, 65535));
        h
    }

    /// Security 5145: network share object checked.
    pub fn share_access(&mut self, f: &mut Fields) -> Header {
        let host = self.pick_host();
        let h = self.header(SECURITY, 5145, 12811, host);
        let user = self.rng.pick(&self.vocab.users).clone();
        let share = self.rng.pick(&self.vocab.shares).clone();
        f.clear();
        f.fmt(
            "SubjectUserSid",
            format_args!(
                "S-1-5-21-3623811015-3361044348-30300820-{}",
                self.rng.range(1100, 1200)
            ),
        );
        f.str("SubjectUserName", &user);
        f.str("SubjectDomainName", &self.vocab.domain);
        f.fmt(
            "SubjectLogonId",
            format_args!("0x{:x}", self.rng.range(0x10000, 0xffffff)),
        );
        f.str("ObjectType", "File");
        f.fmt(
            "IpAddress",
            format_args!("10.20.{}.{}", self.rng.below(12), self.rng.range(10, 250)),
        );
        f.num("IpPort", self.rng.range(49152, 65535));
        f.str("ShareName", &share);
        f.str("ShareLocalPath", "\\??\\C:\\Windows\\SYSVOL\\sysvol");
        f.str(
            "RelativeTargetName",
            "contoso.local\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}\\GPT.INI",
        );
        f.str("AccessMask", "0x120089");
        f.str("AccessReason", "-");
        h
    }

    /// Security 4663: object access attempt.
    pub fn object_access(&mut self, f: &mut Fields) -> Header {
        let host = self.pick_host();
        let p = self.actor(host);
        let h = self.header(SECURITY, 4663, 12800, host);
        let (domain, name) = p.user.split_once('\\').unwrap_or(("", &p.user));
        let (domain, name) = (domain.to_string(), name.to_string());
        f.clear();
        f.str("SubjectUserSid", "S-1-5-18");
        f.str("SubjectUserName", &name);
        f.str("SubjectDomainName", &domain);
        f.fmt(
            "SubjectLogonId",
            format_args!("0x{:x}", self.rng.range(0x3e7, 0xffffff)),
        );
        f.str("ObjectServer", "Security");
        f.str("ObjectType", "File");
        f.fmt(
            "ObjectName",
            format_args!(
                "C:\\Users\\{name}\\Documents\\{}",
                self.rng.pick(&self.vocab.documents)
            ),
        );
        f.fmt(
            "HandleId",
            format_args!("0x{:x}", self.rng.range(0x100, 0xfff)),
        );
        f.str("AccessList", "%%4416");
        f.str("AccessMask", "0x1");
        f.fmt("ProcessId", format_args!("0x{:x}", p.pid));
        f.str("ProcessName", &p.image);
        f.str("ResourceAttributes", "S:AI");
        h
    }

    /// PowerShell 4104: script block logging.
    pub fn script_block(&mut self, f: &mut Fields) -> Header {
        let host = self.pick_host();
        let h = self.header(POWERSHELL, 4104, 2, host);
        let user = format!(
            "{}\\{}",
            self.vocab.domain,
            self.rng.pick(&self.vocab.users)
        );
        let block = self.rng.pick(&self.vocab.script_blocks).clone();
        self.scratch = self.expand(&block, &user);
        let guid = self.guid();
        f.clear();
        f.num("MessageNumber", 1);
        f.num("MessageTotal", 1);
        f.str("ScriptBlockText", &self.scratch);
        f.str("ScriptBlockId", guid.trim_matches(|c| c == '{' || c == '}'));
        f.str("Path", "");
        h
    }
}
