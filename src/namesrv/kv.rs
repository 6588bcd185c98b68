//! KV config (protocol.md §2.3.18): namespace → key → value, set by admin tools
//! (PUT/GET/DELETE_KV_CONFIG, GET_KVLIST_BY_NAMESPACE). The namespace `ORDER_TOPIC_CONFIG` holds
//! `brokerName:queues;…` per ordered topic, returned in routes and to registering brokers.
//!
//! Persisted, when a path is configured, after every change as RocketMQ's `kvConfig.json`:
//! `{"configTable":{"NAMESPACE":{"key":"value"}}}` — written to `<path>.tmp`, synced, then
//! renamed over the file, so a crash leaves either the old or the new content.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sluice_remoting::body::fastjson;

/// The namespace of ordered-topic queue layouts.
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// Why the KV config cannot be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("reading KV config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("KV config {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: sluice_remoting::body::BodyError,
    },
    #[error("writing KV config {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The file shape.
#[derive(Debug, Default, Serialize, Deserialize)]
struct KvFile {
    #[serde(rename = "configTable", default)]
    config_table: BTreeMap<String, BTreeMap<String, String>>,
}

/// The KV table and where it is saved.
#[derive(Debug, Default)]
pub struct KvConfig {
    path: Option<PathBuf>,
    table: BTreeMap<String, BTreeMap<String, String>>,
}

impl KvConfig {
    /// An empty table kept in memory only.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Loads `path` (a missing or empty file is an empty table); changes will be saved there.
    pub fn load(path: Option<PathBuf>) -> Result<Self, KvError> {
        let Some(path) = path else {
            return Ok(Self::in_memory());
        };
        let table = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => BTreeMap::new(),
            Ok(bytes) => {
                fastjson::from_slice::<KvFile>(&bytes)
                    .map_err(|source| KvError::Parse {
                        path: path.clone(),
                        source,
                    })?
                    .config_table
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(KvError::Read { path, source }),
        };
        Ok(KvConfig {
            path: Some(path),
            table,
        })
    }

    /// The file changes are saved to.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// One value.
    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.table.get(namespace)?.get(key).map(String::as_str)
    }

    /// All entries of a namespace (`None` if it has none).
    pub fn namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.table.get(namespace)
    }

    /// PUT_KV_CONFIG. The change is kept in memory even if saving fails.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) -> Result<(), KvError> {
        let old = self
            .table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        if old.as_deref() == Some(value) {
            return Ok(());
        }
        self.save()
    }

    /// DELETE_KV_CONFIG. Returns whether the key existed; a namespace left empty goes too.
    pub fn delete(&mut self, namespace: &str, key: &str) -> Result<bool, KvError> {
        let Some(entries) = self.table.get_mut(namespace) else {
            return Ok(false);
        };
        let existed = entries.remove(key).is_some();
        if entries.is_empty() {
            self.table.remove(namespace);
        }
        if existed {
            self.save()?;
        }
        Ok(existed)
    }

    /// The file content: `{"configTable":{…}}`, compact.
    fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(rename = "configTable")]
            config_table: &'a BTreeMap<String, BTreeMap<String, String>>,
        }
        serde_json::to_vec(&Out {
            config_table: &self.table,
        })
        .unwrap_or_default()
    }

    fn save(&self) -> Result<(), KvError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let write_err = |source| KvError::Write {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = std::fs::File::create(&tmp).map_err(write_err)?;
        f.write_all(&self.to_json()).map_err(write_err)?;
        f.sync_all().map_err(write_err)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(write_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-namesrv-kv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn in_memory_put_get_delete() {
        let mut kv = KvConfig::in_memory();
        kv.put("NS", "k", "v").unwrap();
        assert_eq!(kv.get("NS", "k"), Some("v"));
        assert_eq!(kv.get("NS", "x"), None);
        assert_eq!(kv.namespace("NS").map(BTreeMap::len), Some(1));
        assert!(kv.delete("NS", "k").unwrap());
        assert!(!kv.delete("NS", "k").unwrap());
        assert!(kv.namespace("NS").is_none());
    }

    #[test]
    fn persisted_and_reloaded() {
        let dir = temp_dir("persist");
        let path = dir.join("namesrv").join("kvConfig.json");
        let mut kv = KvConfig::load(Some(path.clone())).unwrap();
        assert!(kv.namespace(NAMESPACE_ORDER_TOPIC_CONFIG).is_none());
        kv.put(NAMESPACE_ORDER_TOPIC_CONFIG, "T", "broker-a:4;broker-b:4")
            .unwrap();
        kv.put("NS", "k", "v").unwrap();
        kv.put("NS", "gone", "x").unwrap();
        kv.delete("NS", "gone").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            r#"{"configTable":{"NS":{"k":"v"},"ORDER_TOPIC_CONFIG":{"T":"broker-a:4;broker-b:4"}}}"#
        );
        assert!(!dir.join("namesrv").join("kvConfig.json.tmp").exists());
        let back = KvConfig::load(Some(path.clone())).unwrap();
        assert_eq!(back.get("NS", "k"), Some("v"));
        assert_eq!(
            back.get(NAMESPACE_ORDER_TOPIC_CONFIG, "T"),
            Some("broker-a:4;broker-b:4")
        );
        // fastjson forms (unquoted keys) and an empty file load too; garbage is an error.
        std::fs::write(&path, r#"{configTable:{NS:{k:"w"}}}"#).unwrap();
        assert_eq!(
            KvConfig::load(Some(path.clone())).unwrap().get("NS", "k"),
            Some("w")
        );
        std::fs::write(&path, "\n").unwrap();
        assert!(KvConfig::load(Some(path.clone()))
            .unwrap()
            .namespace("NS")
            .is_none());
        std::fs::write(&path, "{not json").unwrap();
        let err = KvConfig::load(Some(path)).unwrap_err();
        assert!(err.to_string().contains("kvConfig.json"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
