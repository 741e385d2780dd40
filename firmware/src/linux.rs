//! The arm64 Linux boot protocol (Documentation/arch/arm64/booting.rst): the Image
//! header, and where the kernel, initrd and DTB go in RAM.

use std::io::Read;

/// "ARM\x64" at offset 56 of the Image header.
const IMAGE_MAGIC: u32 = 0x644d_5241;
const HEADER_SIZE: usize = 64;
/// text_offset assumed for Images that predate the image_size field.
const LEGACY_TEXT_OFFSET: u64 = 0x8_0000;
const TWO_MIB: u64 = 2 << 20;
/// Largest DTB the protocol allows.
pub const DTB_MAX: u64 = 2 << 20;

#[derive(Debug, thiserror::Error)]
pub enum LinuxError {
    #[error("not an ELF file nor an arm64 Linux Image: bad magic {0:#010x} at offset 56 (expected 0x644d5241, \"ARM\\x64\"); for a raw image give --load-addr")]
    BadMagic(u32),
    #[error("the file is too short to be an arm64 Linux Image ({0} bytes)")]
    TooShort(usize),
    #[error("the gzip-compressed kernel could not be decompressed")]
    Gzip(#[source] std::io::Error),
    #[error(
        "{what} ({size:#x} bytes) does not fit in guest RAM ({ram_size:#x} bytes at {ram_base:#x})"
    )]
    DoesNotFit {
        what: &'static str,
        size: u64,
        ram_base: u64,
        ram_size: u64,
    },
}

/// The fields of the Image header the loader needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageHeader {
    pub text_offset: u64,
    /// Bytes the kernel occupies from its start, including BSS (0 if unknown).
    pub image_size: u64,
    pub flags: u64,
}

fn le64(d: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(d[off..off + 8].try_into().expect("8 bytes"))
}

pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
}

/// Decompresses a gzip-wrapped Image (as Debian's vmlinuz), or returns it as is.
pub fn decompress(data: Vec<u8>) -> Result<Vec<u8>, LinuxError> {
    if !is_gzip(&data) {
        return Ok(data);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&data[..])
        .read_to_end(&mut out)
        .map_err(LinuxError::Gzip)?;
    Ok(out)
}

pub fn parse_header(image: &[u8]) -> Result<ImageHeader, LinuxError> {
    if image.len() < HEADER_SIZE {
        return Err(LinuxError::TooShort(image.len()));
    }
    let magic = u32::from_le_bytes(image[56..60].try_into().expect("4 bytes"));
    if magic != IMAGE_MAGIC {
        return Err(LinuxError::BadMagic(magic));
    }
    let image_size = le64(image, 16);
    let text_offset = if image_size == 0 {
        LEGACY_TEXT_OFFSET
    } else {
        le64(image, 8)
    };
    Ok(ImageHeader {
        text_offset,
        image_size,
        flags: le64(image, 24),
    })
}

/// Physical placement of the pieces of a Linux boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub kernel: u64,
    pub initrd: Option<(u64, u64)>,
    pub dtb: u64,
}

fn align_up(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

/// Places the kernel at the start of RAM (2 MiB aligned) plus text_offset, then the
/// initrd and the DTB above the kernel's image_size, each 2 MiB aligned.
pub fn layout(
    header: &ImageHeader,
    kernel_len: u64,
    initrd_len: Option<u64>,
    ram_base: u64,
    ram_size: u64,
) -> Result<Layout, LinuxError> {
    let fits = |what, start: u64, size: u64| {
        if start + size <= ram_base + ram_size {
            Ok(())
        } else {
            Err(LinuxError::DoesNotFit {
                what,
                size,
                ram_base,
                ram_size,
            })
        }
    };
    let kernel = align_up(ram_base, TWO_MIB) + header.text_offset;
    let footprint = header.image_size.max(kernel_len);
    fits("the kernel", kernel, footprint)?;
    let mut next = align_up(kernel + footprint, TWO_MIB);
    let initrd = match initrd_len {
        Some(len) => {
            fits("the initrd", next, len)?;
            let r = (next, next + len);
            next = align_up(next + len, TWO_MIB);
            Some(r)
        }
        None => None,
    };
    fits("the device tree", next, DTB_MAX)?;
    Ok(Layout {
        kernel,
        initrd,
        dtb: next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text_offset: u64, image_size: u64) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[8..16].copy_from_slice(&text_offset.to_le_bytes());
        h[16..24].copy_from_slice(&image_size.to_le_bytes());
        h[24..32].copy_from_slice(&0xau64.to_le_bytes());
        h[56..60].copy_from_slice(&IMAGE_MAGIC.to_le_bytes());
        h
    }

    #[test]
    fn parses_header_and_lays_out() {
        let h = parse_header(&header(0, 0x200_0000)).unwrap();
        assert_eq!(
            h,
            ImageHeader {
                text_offset: 0,
                image_size: 0x200_0000,
                flags: 0xa
            }
        );
        let l = layout(&h, 0x100_0000, Some(0x10_0000), 0x4000_0000, 0x4000_0000).unwrap();
        assert_eq!(
            l,
            Layout {
                kernel: 0x4000_0000,
                initrd: Some((0x4200_0000, 0x4210_0000)),
                dtb: 0x4220_0000
            }
        );
        assert_eq!(
            parse_header(&header(0x1234, 0)).unwrap().text_offset,
            0x8_0000,
            "legacy Image"
        );
    }

    #[test]
    fn rejects_bad_images() {
        assert!(matches!(
            parse_header(&[0; 10]),
            Err(LinuxError::TooShort(10))
        ));
        assert!(matches!(
            parse_header(&[0; 64]),
            Err(LinuxError::BadMagic(0))
        ));
        let h = parse_header(&header(0, 0x800_0000)).unwrap();
        assert!(matches!(
            layout(&h, 0x10, None, 0x4000_0000, 0x400_0000),
            Err(LinuxError::DoesNotFit { .. })
        ));
        assert!(matches!(
            decompress(vec![0x1f, 0x8b, 0, 0]),
            Err(LinuxError::Gzip(_))
        ));
    }
}
