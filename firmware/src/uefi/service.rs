//! Every host-implemented firmware function has a number; the guest reaches
//! it through a trampoline `HVC #(IMM_BASE + number); RET`. The immediate, not
//! the PC, names the service, so the trampolines work at any virtual address
//! (the kernel maps runtime code where it likes).

/// The first HVC immediate of the UEFI services (PSCI and SMCCC use #0).
pub const IMM_BASE: u16 = 0x100;
/// Bytes per trampoline: HVC, RET.
pub const TRAMPOLINE_SIZE: u64 = 8;

const RET: u32 = 0xD65F_03C0;

macro_rules! services {
    ($($name:ident),* $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum Service { $($name),* }

        impl Service {
            pub const ALL: &'static [Service] = &[$(Service::$name),*];
        }
    };
}

services! {
    // The firmware itself: the boot manager's next step, and where a started
    // image returns to.
    BootManager,
    ImageReturn,
    NotifyReturn,
    // The exception vectors: a payload crashed.
    CpuException,
    // EFI_BOOT_SERVICES, in table order.
    RaiseTpl, RestoreTpl, AllocatePages, FreePages, GetMemoryMap, AllocatePool, FreePool,
    CreateEvent, SetTimer, WaitForEvent, SignalEvent, CloseEvent, CheckEvent,
    InstallProtocolInterface, ReinstallProtocolInterface, UninstallProtocolInterface,
    HandleProtocol, BsReserved, RegisterProtocolNotify, LocateHandle, LocateDevicePath,
    InstallConfigurationTable, LoadImage, StartImage, Exit, UnloadImage, ExitBootServices,
    GetNextMonotonicCount, Stall, SetWatchdogTimer, ConnectController, DisconnectController,
    OpenProtocol, CloseProtocol, OpenProtocolInformation, ProtocolsPerHandle,
    LocateHandleBuffer, LocateProtocol, InstallMultipleProtocolInterfaces,
    UninstallMultipleProtocolInterfaces, CalculateCrc32, CopyMem, SetMem, CreateEventEx,
    // EFI_RUNTIME_SERVICES, in table order.
    GetTime, SetTime, GetWakeupTime, SetWakeupTime, SetVirtualAddressMap, ConvertPointer,
    GetVariable, GetNextVariableName, SetVariable, GetNextHighMonotonicCount, ResetSystem,
    UpdateCapsule, QueryCapsuleCapabilities, QueryVariableInfo,
    // EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL
    TextReset, OutputString, TestString, QueryMode, SetMode, SetAttribute, ClearScreen,
    SetCursorPosition, EnableCursor,
    // EFI_SIMPLE_TEXT_INPUT_PROTOCOL and ..._EX_PROTOCOL
    InputReset, ReadKeyStroke, InputExReset, ReadKeyStrokeEx, SetState, RegisterKeyNotify,
    UnregisterKeyNotify,
    // EFI_BLOCK_IO_PROTOCOL, EFI_DISK_IO_PROTOCOL
    BlockReset, ReadBlocks, WriteBlocks, FlushBlocks, ReadDisk, WriteDisk,
    // EFI_SIMPLE_FILE_SYSTEM_PROTOCOL, EFI_FILE_PROTOCOL
    OpenVolume, FileOpen, FileClose, FileDelete, FileRead, FileWrite, FileGetPosition,
    FileSetPosition, FileGetInfo, FileSetInfo, FileFlush,
    // EFI_RNG_PROTOCOL, EFI_LOAD_FILE2_PROTOCOL, EFI_DEVICE_PATH_TO_TEXT_PROTOCOL
    RngGetInfo, RngGetRng, LoadFile, DeviceNodeToText, DevicePathToText,
}

impl Service {
    /// The service an HVC immediate names, if any.
    pub fn from_imm(imm: u16) -> Option<Service> {
        let i = imm.checked_sub(IMM_BASE)?;
        Self::ALL.get(i as usize).copied()
    }

    pub fn imm(self) -> u16 {
        IMM_BASE + self as u16
    }

    /// Offset of this service's trampoline in the trampoline block.
    pub fn offset(self) -> u64 {
        self as u64 * TRAMPOLINE_SIZE
    }
}

/// The trampoline block: one `HVC #imm; RET` per service, in order.
pub fn trampolines() -> Vec<u8> {
    let mut code = Vec::with_capacity(Service::ALL.len() * TRAMPOLINE_SIZE as usize);
    for s in Service::ALL {
        let hvc = 0xD400_0002 | (u32::from(s.imm()) << 5);
        code.extend_from_slice(&hvc.to_le_bytes());
        code.extend_from_slice(&RET.to_le_bytes());
    }
    code
}

/// EFI_BOOT_SERVICES function pointers, in table order.
pub const BOOT_SERVICES: std::ops::RangeInclusive<Service> =
    Service::RaiseTpl..=Service::CreateEventEx;
/// EFI_RUNTIME_SERVICES function pointers, in table order.
pub const RUNTIME_SERVICES: std::ops::RangeInclusive<Service> =
    Service::GetTime..=Service::QueryVariableInfo;

/// The services of `range`, in order.
pub fn in_range(range: std::ops::RangeInclusive<Service>) -> impl Iterator<Item = Service> {
    let (a, b) = (*range.start() as usize, *range.end() as usize);
    Service::ALL[a..=b].iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediates_round_trip_and_tables_have_their_sizes() {
        for s in Service::ALL {
            assert_eq!(Service::from_imm(s.imm()), Some(*s));
        }
        assert_eq!(Service::from_imm(0), None);
        assert_eq!(
            Service::from_imm(IMM_BASE + Service::ALL.len() as u16),
            None
        );
        assert_eq!(in_range(BOOT_SERVICES).count(), 44);
        assert_eq!(in_range(RUNTIME_SERVICES).count(), 14);
        let code = trampolines();
        let at = Service::GetTime.offset() as usize;
        let hvc = u32::from_le_bytes(code[at..at + 4].try_into().unwrap());
        // HVC #imm: imm16 in bits 20:5.
        assert_eq!((hvc >> 5) & 0xffff, u32::from(Service::GetTime.imm()));
        assert_eq!(hvc & 0xffe0_001f, 0xD400_0002);
    }
}
