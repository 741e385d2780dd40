//! The handle database: which protocol interfaces each handle carries (UEFI
//! 2.10, 7.3 "Protocol Handler Services"). Interfaces are guest addresses —
//! the firmware's own structures or ones a payload installed — so this table
//! knows nothing about what they do.

use super::guid::Guid;
use super::status::{self, Status};

/// EFI_OPEN_PROTOCOL_* attributes.
pub const OPEN_BY_HANDLE_PROTOCOL: u32 = 0x01;
pub const OPEN_TEST_PROTOCOL: u32 = 0x04;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenRecord {
    pub agent: u64,
    pub controller: u64,
    pub attributes: u32,
    pub count: u32,
}

#[derive(Clone, Debug)]
pub struct Protocol {
    pub guid: Guid,
    pub interface: u64,
    pub opens: Vec<OpenRecord>,
}

#[derive(Clone, Debug)]
pub struct Handle {
    pub id: u64,
    pub protocols: Vec<Protocol>,
}

#[derive(Default)]
pub struct HandleDb {
    /// In creation order, which LocateHandle reports.
    handles: Vec<Handle>,
}

impl HandleDb {
    pub fn exists(&self, h: u64) -> bool {
        self.handles.iter().any(|x| x.id == h)
    }

    pub fn get(&self, h: u64) -> Option<&Handle> {
        self.handles.iter().find(|x| x.id == h)
    }

    fn get_mut(&mut self, h: u64) -> Option<&mut Handle> {
        self.handles.iter_mut().find(|x| x.id == h)
    }

    /// Adds a handle with no protocols yet (`id` is a unique guest address).
    pub fn create(&mut self, id: u64) {
        self.handles.push(Handle {
            id,
            protocols: Vec::new(),
        });
    }

    pub fn interface(&self, h: u64, guid: &Guid) -> Option<u64> {
        self.get(h)?
            .protocols
            .iter()
            .find(|p| p.guid == *guid)
            .map(|p| p.interface)
    }

    /// Installs `guid` on existing handle `h`.
    pub fn install(&mut self, h: u64, guid: Guid, interface: u64) -> Result<(), Status> {
        let handle = self.get_mut(h).ok_or(status::INVALID_PARAMETER)?;
        if handle.protocols.iter().any(|p| p.guid == guid) {
            return Err(status::INVALID_PARAMETER);
        }
        handle.protocols.push(Protocol {
            guid,
            interface,
            opens: Vec::new(),
        });
        Ok(())
    }

    /// Removes `guid` (with exactly `interface`) from `h`; a handle left with
    /// no protocols disappears. Returns whether the handle is gone.
    pub fn uninstall(&mut self, h: u64, guid: &Guid, interface: u64) -> Result<bool, Status> {
        let handle = self.get_mut(h).ok_or(status::INVALID_PARAMETER)?;
        let i = handle
            .protocols
            .iter()
            .position(|p| p.guid == *guid && p.interface == interface)
            .ok_or(status::NOT_FOUND)?;
        handle.protocols.remove(i);
        if handle.protocols.is_empty() {
            self.handles.retain(|x| x.id != h);
            return Ok(true);
        }
        Ok(false)
    }

    pub fn reinstall(&mut self, h: u64, guid: &Guid, old: u64, new: u64) -> Result<(), Status> {
        let handle = self.get_mut(h).ok_or(status::INVALID_PARAMETER)?;
        let p = handle
            .protocols
            .iter_mut()
            .find(|p| p.guid == *guid && p.interface == old)
            .ok_or(status::NOT_FOUND)?;
        p.interface = new;
        Ok(())
    }

    /// Removes a handle and everything on it.
    pub fn remove(&mut self, h: u64) {
        self.handles.retain(|x| x.id != h);
    }

    /// Handles carrying `guid`, or all handles.
    pub fn with_protocol(&self, guid: Option<&Guid>) -> Vec<u64> {
        self.handles
            .iter()
            .filter(|h| guid.is_none_or(|g| h.protocols.iter().any(|p| p.guid == *g)))
            .map(|h| h.id)
            .collect()
    }

    /// Records an OpenProtocol (for OpenProtocolInformation and CloseProtocol).
    pub fn record_open(&mut self, h: u64, guid: &Guid, agent: u64, controller: u64, attrs: u32) {
        let Some(p) = self
            .get_mut(h)
            .and_then(|x| x.protocols.iter_mut().find(|p| p.guid == *guid))
        else {
            return;
        };
        match p
            .opens
            .iter_mut()
            .find(|o| o.agent == agent && o.controller == controller && o.attributes == attrs)
        {
            Some(o) => o.count += 1,
            None => p.opens.push(OpenRecord {
                agent,
                controller,
                attributes: attrs,
                count: 1,
            }),
        }
    }

    /// CloseProtocol: drops the agent's opens of `guid` on `h`.
    pub fn close(
        &mut self,
        h: u64,
        guid: &Guid,
        agent: u64,
        controller: u64,
    ) -> Result<(), Status> {
        let handle = self.get_mut(h).ok_or(status::INVALID_PARAMETER)?;
        let p = handle
            .protocols
            .iter_mut()
            .find(|p| p.guid == *guid)
            .ok_or(status::NOT_FOUND)?;
        let before = p.opens.len();
        p.opens
            .retain(|o| !(o.agent == agent && o.controller == controller));
        if p.opens.len() == before {
            return Err(status::NOT_FOUND);
        }
        Ok(())
    }

    pub fn opens(&self, h: u64, guid: &Guid) -> Option<Vec<OpenRecord>> {
        self.get(h)?
            .protocols
            .iter()
            .find(|p| p.guid == *guid)
            .map(|p| p.opens.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Guid = Guid([1; 16]);
    const B: Guid = Guid([2; 16]);

    #[test]
    fn install_locate_uninstall() {
        let mut db = HandleDb::default();
        db.create(0x100);
        db.create(0x200);
        db.install(0x100, A, 0x1000).unwrap();
        db.install(0x200, A, 0x2000).unwrap();
        db.install(0x200, B, 0x2100).unwrap();
        assert_eq!(db.install(0x200, B, 0x2200), Err(status::INVALID_PARAMETER));
        assert_eq!(db.with_protocol(Some(&A)), vec![0x100, 0x200]);
        assert_eq!(db.with_protocol(Some(&B)), vec![0x200]);
        assert_eq!(db.with_protocol(None).len(), 2);
        assert_eq!(db.uninstall(0x200, &B, 0x9999), Err(status::NOT_FOUND));
        assert_eq!(db.uninstall(0x200, &B, 0x2100), Ok(false));
        assert_eq!(db.uninstall(0x200, &A, 0x2000), Ok(true));
        assert!(!db.exists(0x200));
        assert_eq!(db.install(0x200, A, 1), Err(status::INVALID_PARAMETER));
    }

    #[test]
    fn opens_are_recorded_and_closed() {
        let mut db = HandleDb::default();
        db.create(0x100);
        db.install(0x100, A, 0x1000).unwrap();
        db.record_open(0x100, &A, 0x500, 0, OPEN_BY_HANDLE_PROTOCOL);
        db.record_open(0x100, &A, 0x500, 0, OPEN_BY_HANDLE_PROTOCOL);
        assert_eq!(db.opens(0x100, &A).unwrap()[0].count, 2);
        db.close(0x100, &A, 0x500, 0).unwrap();
        assert_eq!(db.close(0x100, &A, 0x500, 0), Err(status::NOT_FOUND));
        assert_eq!(db.close(0x100, &B, 0x500, 0), Err(status::NOT_FOUND));
        db.reinstall(0x100, &A, 0x1000, 0x3000).unwrap();
        assert_eq!(db.interface(0x100, &A), Some(0x3000));
    }
}
