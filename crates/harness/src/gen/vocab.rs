//! The generator's vocabulary and planted attacks, read from `corpus/generator/`
//! (embedded in the binary, so `gen` works from any directory).

use serde::Deserialize;

const VOCABULARY: &str = include_str!("../../../../corpus/generator/vocabulary.yml");
const ATTACKS: &str = include_str!("../../../../corpus/generator/attacks.yml");

/// Hosts, users and the benign processes.
#[derive(Deserialize)]
pub struct Vocabulary {
    pub domain: String,
    pub hosts: Vec<String>,
    pub users: Vec<String>,
    pub service_users: Vec<String>,
    pub documents: Vec<String>,
    pub urls: Vec<String>,
    pub domains: Vec<String>,
    pub dlls: Vec<String>,
    pub registry_keys: Vec<String>,
    pub shares: Vec<String>,
    pub network_processes: Vec<String>,
    pub processes: Vec<ProcessTemplate>,
    pub script_blocks: Vec<String>,
}

/// A benign process.
#[derive(Deserialize)]
pub struct ProcessTemplate {
    pub weight: u32,
    pub image: String,
    pub original: String,
    /// `service`, `interactive` or `inherit` (the parent's user).
    pub user: String,
    pub company: String,
    pub description: String,
    pub parents: Vec<String>,
    pub commands: Vec<String>,
}

/// A planted attack.
#[derive(Deserialize)]
pub struct Attack {
    pub name: String,
    /// `sysmon` (Sysmon 1) and/or `security` (Security 4688).
    #[serde(rename = "as")]
    pub shapes: Vec<String>,
    pub image: String,
    pub parent: String,
    pub parent_command: String,
    pub command: String,
    pub rules: Vec<String>,
}

#[derive(Deserialize)]
struct AttackFile {
    attacks: Vec<Attack>,
}

/// The embedded vocabulary.
pub fn vocabulary() -> anyhow::Result<Vocabulary> {
    Ok(serde_norway::from_str(VOCABULARY)?)
}

/// The embedded attacks.
pub fn attacks() -> anyhow::Result<Vec<Attack>> {
    Ok(serde_norway::from_str::<AttackFile>(ATTACKS)?.attacks)
}
