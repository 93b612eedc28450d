//! Durable, atomic files: the card's EEPROM stand-in and the sensor's finger file.
//!
//! A write goes to a fresh temporary file in the same directory, is fsynced, renamed over the
//! target (rename(2) is atomic within one file system) and the directory is fsynced so that
//! the rename itself survives a crash. A reader therefore sees the old file or the new one,
//! never a mix. Left-over temporary files from a crash (`.NAME.tmp-*`) are never read.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Only the owner may read card state: it holds the card's private keys (P4).
const STATE_MODE: u32 = 0o600;

/// Distinguishes temporary files of concurrent writers within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically and durably, with mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let directory = parent_directory(path);
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let temp = directory.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(STATE_MODE)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        // The rename is a change to the directory: fsync it too (rename(2), fsync(2)).
        File::open(&directory)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Reads the whole file, or `None` when it does not exist.
pub fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

fn parent_directory(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn writes_replace_whole_file_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card.json");
        write_atomic(&path, b"first, longer content").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // No temporary file is left behind after a successful write.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["card.json"]);
    }

    #[test]
    fn crash_debris_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card.json");
        write_atomic(&path, b"good").unwrap();
        // What a crash between create and rename leaves: a half-written temporary file.
        fs::write(dir.path().join(".card.json.tmp-999-0"), b"{\"half").unwrap();
        assert_eq!(read_if_exists(&path).unwrap().unwrap(), b"good");
        write_atomic(&path, b"better").unwrap();
        assert_eq!(read_if_exists(&path).unwrap().unwrap(), b"better");
    }

    #[test]
    fn missing_file_reads_as_none_and_relative_paths_work() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_if_exists(&dir.path().join("absent"))
            .unwrap()
            .is_none());
        assert_eq!(parent_directory(Path::new("card.json")), PathBuf::from("."));
    }
}
