//! `armvm image create|inspect|check`: the command-line side of the disk image
//! tools in `armvm_firmware::image`. Exit statuses: 0 success (for `check`, every
//! rule passes), 1 a rule fails, 2 bad options or an unreadable image (main.rs
//! prints the error).

use armvm_firmware::image::create::{self, CreateOptions, ExtraPartition, Source};
use armvm_firmware::image::{check, guid, human_size, inspect, FileDisk, ImageError, SECTOR};

use crate::cli::{ImageArgs, ImageCommand, ImageCreateArgs};

pub fn run(args: &ImageArgs) -> Result<u8, ImageError> {
    match &args.command {
        ImageCommand::Create(c) => create_image(c).map(|()| 0),
        ImageCommand::Inspect(i) => {
            let disk = open(&i.image)?;
            let found = inspect::inspect(&disk);
            print!("{}", found.text);
            if found.has_gpt {
                Ok(0)
            } else {
                Err(ImageError::Invalid(format!(
                    "{}: no valid GPT (neither the primary nor the backup)",
                    i.image.display()
                )))
            }
        }
        ImageCommand::Check(c) => {
            let disk = open(&c.image)?;
            let report = check::check(&disk, c.arch.map(|a| a.arch()));
            print!("{report}");
            Ok(if report.passed() { 0 } else { 1 })
        }
    }
}

fn open(path: &std::path::Path) -> Result<FileDisk, ImageError> {
    FileDisk::open(path).map_err(|source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn create_image(c: &ImageCreateArgs) -> Result<(), ImageError> {
    let mut opts = CreateOptions::new(Source::Host(c.efi.clone()));
    opts.arch = c.arch.arch();
    opts.files = c
        .files
        .iter()
        .map(|(src, dest)| (dest.clone(), Source::Host(src.clone())))
        .collect();
    opts.dirs = c.dirs.clone();
    opts.esp_size = c.esp_size;
    opts.size = c.size;
    opts.seed = c.seed;
    opts.partitions = c
        .partitions
        .iter()
        .map(|(file, ty)| ExtraPartition {
            source: Source::Host(file.clone()),
            type_guid: *ty,
        })
        .collect();
    let s = create::create(&c.out, &opts)?;
    println!(
        "{}: {} ({} bytes), disk GUID {}",
        c.out.display(),
        human_size(s.bytes),
        s.bytes,
        guid::fmt(&s.disk_guid)
    );
    for (index, name, _, unique, first, last) in &s.partitions {
        println!(
            "  {index}  {name:<22} LBAs {first}..{last} ({}), GUID {}",
            human_size((last - first + 1) * SECTOR),
            guid::fmt(unique)
        );
    }
    println!(
        "  the ESP holds {} and {} more file(s)",
        opts.arch.boot_path(),
        s.esp_files - 1
    );
    Ok(())
}
