//! The local object store: export files kept in a folder of the data directory and handed out
//! through HMAC-SHA256-signed URLs, the local stand-in for S3 and its presigned GETs.

mod store;
mod upload;

pub use store::{LocalFsStore, ResolvedDownload};
pub use upload::FileUpload;
