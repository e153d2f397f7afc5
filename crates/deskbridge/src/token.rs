//! The ingest token generated on first start.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use rand::RngCore;

/// The token in `DATA_DIR/ingest-token`, made if missing. Returns the token and
/// whether it was just created (so it is printed only then).
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<(String, bool)> {
    let path = data_dir.join("ingest-token");
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let fresh = format!("dbk_{}", hex::encode(bytes));
    // create_new: two processes starting at once cannot both write a token.
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            file.write_all(fresh.as_bytes())
                .and_then(|_| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok((fresh, true))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let mut token = String::new();
            OpenOptions::new()
                .read(true)
                .open(&path)
                .and_then(|mut f| f.read_to_string(&mut token))
                .with_context(|| format!("reading {}", path.display()))?;
            let token = token.trim().to_string();
            anyhow::ensure!(
                token.len() >= 16,
                "{} holds no usable token: delete it and restart to make a new one",
                path.display()
            );
            Ok((token, false))
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn made_once_owner_only_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (token, fresh) = load_or_create(dir.path()).unwrap();
        assert!(fresh);
        assert!(token.starts_with("dbk_") && token.len() == 52);
        let mode = std::fs::metadata(dir.path().join("ingest-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, fresh) = load_or_create(dir.path()).unwrap();
        assert_eq!((again, fresh), (token, false));
    }
}
