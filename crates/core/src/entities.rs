//! What an event names: the entity types, apart from the normalisers in [`crate::entity`].

/// What an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    /// A computer, by its first name label in upper case, or its IP address.
    Host,
    /// An account, `DOMAIN\\user`.
    Account,
    /// An IP address.
    Ip,
    /// A process: a GUID, or host, PID and image.
    Process,
    /// A logon session on a host.
    LogonId,
    /// A service on a host.
    Service,
    /// A file path.
    File,
}

impl EntityKind {
    /// The name used in outputs (`host`, `account`, `logon_id`...).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Host => "host",
            EntityKind::Account => "account",
            EntityKind::Ip => "ip",
            EntityKind::Process => "process",
            EntityKind::LogonId => "logon_id",
            EntityKind::Service => "service",
            EntityKind::File => "file",
        }
    }

    /// Whether two detections sharing this entity are linked. Services and files are kept
    /// for the record but do not link: the same paths and service names appear on every
    /// Windows host, so they would join unrelated activity.
    pub fn links(self) -> bool {
        !matches!(self, EntityKind::Service | EntityKind::File)
    }
}

/// One entity, its value normalised (see [`crate::entity::host`], [`crate::entity::account`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entity {
    /// What it is.
    pub kind: EntityKind,
    /// Its normalised name.
    pub value: String,
}

/// What one event names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entities {
    /// The host it happened on, normalised.
    pub host: Option<String>,
    /// The account acting in it.
    pub account: Option<String>,
    /// Every entity it names, each once, in the order found.
    pub all: Vec<Entity>,
}

impl Entities {
    /// Adds an entity unless it is already listed.
    pub fn add(&mut self, kind: EntityKind, value: Option<String>) {
        if let Some(value) = value {
            let e = Entity { kind, value };
            if !self.all.contains(&e) {
                self.all.push(e);
            }
        }
    }
}
