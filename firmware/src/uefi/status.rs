//! EFI_STATUS values (UEFI 2.10, Appendix D).

pub type Status = u64;

const ERROR: u64 = 1 << 63;

pub const SUCCESS: Status = 0;
pub const LOAD_ERROR: Status = ERROR | 1;
pub const INVALID_PARAMETER: Status = ERROR | 2;
pub const UNSUPPORTED: Status = ERROR | 3;
pub const BAD_BUFFER_SIZE: Status = ERROR | 4;
pub const BUFFER_TOO_SMALL: Status = ERROR | 5;
pub const NOT_READY: Status = ERROR | 6;
pub const DEVICE_ERROR: Status = ERROR | 7;
pub const WRITE_PROTECTED: Status = ERROR | 8;
pub const OUT_OF_RESOURCES: Status = ERROR | 9;
pub const VOLUME_CORRUPTED: Status = ERROR | 10;
pub const VOLUME_FULL: Status = ERROR | 11;
pub const MEDIA_CHANGED: Status = ERROR | 13;
pub const NOT_FOUND: Status = ERROR | 14;
pub const ACCESS_DENIED: Status = ERROR | 15;
pub const NO_MAPPING: Status = ERROR | 17;
pub const TIMEOUT: Status = ERROR | 18;
pub const ALREADY_STARTED: Status = ERROR | 20;
pub const ABORTED: Status = ERROR | 21;
pub const SECURITY_VIOLATION: Status = ERROR | 26;
pub const END_OF_FILE: Status = ERROR | 31;

/// A readable name for messages ("Boot0001 failed: Not Found").
pub fn name(s: Status) -> String {
    let known = match s {
        SUCCESS => "Success",
        LOAD_ERROR => "Load Error",
        INVALID_PARAMETER => "Invalid Parameter",
        UNSUPPORTED => "Unsupported",
        BAD_BUFFER_SIZE => "Bad Buffer Size",
        BUFFER_TOO_SMALL => "Buffer Too Small",
        NOT_READY => "Not Ready",
        DEVICE_ERROR => "Device Error",
        WRITE_PROTECTED => "Write Protected",
        OUT_OF_RESOURCES => "Out of Resources",
        VOLUME_CORRUPTED => "Volume Corrupted",
        NOT_FOUND => "Not Found",
        ACCESS_DENIED => "Access Denied",
        TIMEOUT => "Time out",
        ABORTED => "Aborted",
        SECURITY_VIOLATION => "Security Violation",
        END_OF_FILE => "End of File",
        _ => return format!("status {s:#x}"),
    };
    known.to_string()
}
