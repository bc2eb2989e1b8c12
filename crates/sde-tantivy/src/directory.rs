//! The index folder as tantivy reads it: memory-mapped, except that doc-store blocks are copied
//! out with positioned reads.
//!
//! An export reads the doc store front to back (or a block here and there all over it). Through
//! a memory map every page it touches stays mapped into the process for as long as the segment
//! is open, so the resident set of an export grows with the index — a 10M-post store is about a
//! gigabyte. Reading each 16 KiB block with `pread` into a buffer that is dropped after decoding
//! keeps the resident set flat; the pages stay in the kernel's page cache for the next export.
//! Large reads (tantivy stacking whole stores while merging segments) still go to the map, which
//! avoids a copy of the whole store.

use std::fmt;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::directory::error::{
    DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError,
};
use tantivy::directory::{
    DirectoryLock, FileHandle, Lock, MmapDirectory, OwnedBytes, WatchCallback, WatchHandle,
    WritePtr,
};
use tantivy::{Directory, HasLen};

/// Reads at most this long are copied out of the file; longer ones are served by the map.
const MAX_COPIED_READ: usize = 1 << 20;

/// An [`MmapDirectory`] whose doc-store (`.store`) files are read with `pread`.
#[derive(Debug, Clone)]
pub(crate) struct IndexDirectory {
    mapped: MmapDirectory,
    root: PathBuf,
}

impl IndexDirectory {
    pub fn open(root: &Path) -> Result<Self, OpenDirectoryError> {
        Ok(IndexDirectory {
            mapped: MmapDirectory::open(root)?,
            root: root.to_path_buf(),
        })
    }
}

impl Directory for IndexDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        let mapped = self.mapped.get_file_handle(path)?;
        if path
            .extension()
            .is_none_or(|extension| extension != "store")
        {
            return Ok(mapped);
        }
        let file = File::open(self.root.join(path))
            .map_err(|error| OpenReadError::wrap_io_error(error, path.to_path_buf()))?;
        Ok(Arc::new(CopiedReads { file, mapped }))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.mapped.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.mapped.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.mapped.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.mapped.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.mapped.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.mapped.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.mapped.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.mapped.watch(watch_callback)
    }
}

/// A file whose small reads are copied out with `pread`.
struct CopiedReads {
    file: File,
    mapped: Arc<dyn FileHandle>,
}

impl fmt::Debug for CopiedReads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopiedReads")
            .field("len", &self.mapped.len())
            .finish()
    }
}

impl HasLen for CopiedReads {
    fn len(&self) -> usize {
        self.mapped.len()
    }
}

impl FileHandle for CopiedReads {
    fn read_bytes(&self, range: Range<usize>) -> io::Result<OwnedBytes> {
        if range.len() > MAX_COPIED_READ || range.end > self.len() {
            return self.mapped.read_bytes(range);
        }
        let mut buffer = vec![0; range.len()];
        self.file.read_exact_at(&mut buffer, range.start as u64)?;
        Ok(OwnedBytes::new(buffer))
    }
}
