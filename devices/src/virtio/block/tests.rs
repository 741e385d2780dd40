use super::*;
use crate::virtio::testing::{ram, RAM_BASE};

const HEADER: u64 = RAM_BASE + 0x100;
const DATA: u64 = RAM_BASE + 0x1000;
const STATUS: u64 = RAM_BASE + 0x800;
const DISK_SIZE: usize = 16 * 512;
const UNTOUCHED: u8 = 0xee;

fn disk() -> MemDisk {
    MemDisk {
        data: (0..DISK_SIZE).map(|i| (i / 512) as u8 ^ i as u8).collect(),
        read_only: false,
        serial: Some("armvm-serial".into()),
        flushes: 0,
    }
}

fn buf(addr: u64, len: u32) -> Buffer {
    Buffer { addr, len }
}

/// Guest RAM with a request header and a status byte not yet written.
fn request(kind: u32, sector: u64) -> Arc<GuestMemory> {
    let mem = ram(0x10000);
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&kind.to_le_bytes());
    h[8..16].copy_from_slice(&sector.to_le_bytes());
    mem.write(HEADER, &h).unwrap();
    mem.write(STATUS, &[UNTOUCHED]).unwrap();
    mem
}

fn chain(readable: &[Buffer], writable: &[Buffer]) -> Chain {
    Chain {
        head: 0,
        readable: readable.to_vec(),
        writable: writable.to_vec(),
    }
}

fn status(mem: &GuestMemory) -> u32 {
    let mut b = [0u8];
    mem.read(STATUS, &mut b).unwrap();
    b[0] as u32
}

fn ram_bytes(mem: &GuestMemory, at: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    mem.read(at, &mut v).unwrap();
    v
}

/// A discard or write-zeroes request with one segment.
fn segment_request(kind: u32, sector: u64, sectors: u32, flags: u32) -> (Arc<GuestMemory>, Chain) {
    let mem = request(kind, 0);
    let mut seg = [0u8; 16];
    seg[0..8].copy_from_slice(&sector.to_le_bytes());
    seg[8..12].copy_from_slice(&sectors.to_le_bytes());
    seg[12..16].copy_from_slice(&flags.to_le_bytes());
    mem.write(DATA, &seg).unwrap();
    let c = chain(&[buf(HEADER, 16), buf(DATA, 16)], &[buf(STATUS, 1)]);
    (mem, c)
}

#[test]
fn read_fills_the_buffers_and_sets_the_status() {
    let mut d = disk();
    let mem = request(VIRTIO_BLK_T_IN, 3);
    // Data over two buffers, the status byte in a third.
    let c = chain(
        &[buf(HEADER, 16)],
        &[buf(DATA, 700), buf(DATA + 0x1000, 324), buf(STATUS, 1)],
    );
    assert_eq!(handle_request(&mut d, &mem, &c), 1025);
    assert_eq!(status(&mem), VIRTIO_BLK_S_OK);
    let mut got = ram_bytes(&mem, DATA, 700);
    got.extend(ram_bytes(&mem, DATA + 0x1000, 324));
    assert_eq!(got, d.data[3 * 512..5 * 512]);
}

#[test]
fn the_status_is_the_last_writable_byte() {
    let mut d = disk();
    let mem = request(VIRTIO_BLK_T_IN, 0);
    // One writable buffer for data and status; a trailing empty buffer.
    let c = chain(&[buf(HEADER, 16)], &[buf(DATA, 513), buf(DATA + 0x800, 0)]);
    assert_eq!(handle_request(&mut d, &mem, &c), 513);
    assert_eq!(ram_bytes(&mem, DATA, 512), d.data[..512]);
    assert_eq!(ram_bytes(&mem, DATA + 512, 1), [VIRTIO_BLK_S_OK as u8]);
}

#[test]
fn write_stores_the_data() {
    let mut d = disk();
    let mem = request(VIRTIO_BLK_T_OUT, 2);
    let data: Vec<u8> = (0..1024).map(|i| (i * 7) as u8).collect();
    mem.write(DATA, &data[..100]).unwrap();
    mem.write(DATA + 0x1000, &data[100..]).unwrap();
    let c = chain(
        &[buf(HEADER, 16), buf(DATA, 100), buf(DATA + 0x1000, 924)],
        &[buf(STATUS, 1)],
    );
    let before = disk().data;
    assert_eq!(handle_request(&mut d, &mem, &c), 1);
    assert_eq!(status(&mem), VIRTIO_BLK_S_OK);
    assert_eq!(d.data[2 * 512..4 * 512], data[..]);
    assert_eq!(d.data[..2 * 512], before[..2 * 512]);
    assert_eq!(d.data[4 * 512..], before[4 * 512..]);
}

#[test]
fn flush_reaches_the_disk() {
    let mut d = disk();
    let mem = request(VIRTIO_BLK_T_FLUSH, 0);
    let c = chain(&[buf(HEADER, 16)], &[buf(STATUS, 1)]);
    assert_eq!(handle_request(&mut d, &mem, &c), 1);
    assert_eq!((status(&mem), d.flushes), (VIRTIO_BLK_S_OK, 1));
}

#[test]
fn get_id_returns_the_serial_padded_or_cut() {
    let mut d = disk();
    let mem = request(VIRTIO_BLK_T_GET_ID, 0);
    mem.fill(DATA, 20, 0xff).unwrap();
    let c = chain(&[buf(HEADER, 16)], &[buf(DATA, 20), buf(STATUS, 1)]);
    assert_eq!(handle_request(&mut d, &mem, &c), 21);
    assert_eq!(ram_bytes(&mem, DATA, 20), b"armvm-serial\0\0\0\0\0\0\0\0");
    // A longer serial is cut at 20 bytes; a shorter buffer gets what fits.
    d.serial = Some("0123456789abcdefghijKLMN".into());
    let c = chain(&[buf(HEADER, 16)], &[buf(DATA, 5), buf(STATUS, 1)]);
    assert_eq!(handle_request(&mut d, &mem, &c), 6);
    assert_eq!(ram_bytes(&mem, DATA, 6), b"01234-", "five bytes written");
    let c = chain(&[buf(HEADER, 16)], &[buf(DATA, 32), buf(STATUS, 1)]);
    assert_eq!(handle_request(&mut d, &mem, &c), 21);
    assert_eq!(ram_bytes(&mem, DATA, 20), b"0123456789abcdefghij");
    assert_eq!(status(&mem), VIRTIO_BLK_S_OK);
}

#[test]
fn discard_and_write_zeroes_clear_the_sectors() {
    for (kind, flags) in [
        (VIRTIO_BLK_T_DISCARD, 0),
        (VIRTIO_BLK_T_WRITE_ZEROES, 0),
        (VIRTIO_BLK_T_WRITE_ZEROES, SEGMENT_FLAG_UNMAP),
    ] {
        let mut d = disk();
        let (mem, c) = segment_request(kind, 4, 3, flags);
        assert_eq!(handle_request(&mut d, &mem, &c), 1);
        assert_eq!(status(&mem), VIRTIO_BLK_S_OK, "type {kind} flags {flags}");
        let before = disk().data;
        assert!(d.data[4 * 512..7 * 512].iter().all(|&b| b == 0));
        assert_eq!(d.data[..4 * 512], before[..4 * 512]);
        assert_eq!(d.data[7 * 512..], before[7 * 512..]);
    }
}

#[test]
fn segment_flags_the_type_does_not_take_are_unsupported() {
    for (kind, flags) in [
        (VIRTIO_BLK_T_DISCARD, SEGMENT_FLAG_UNMAP),
        (VIRTIO_BLK_T_DISCARD, 0x8000_0000),
        (VIRTIO_BLK_T_WRITE_ZEROES, 2),
    ] {
        let mut d = disk();
        let (mem, c) = segment_request(kind, 4, 3, flags);
        assert_eq!(handle_request(&mut d, &mem, &c), 1);
        assert_eq!(
            status(&mem),
            VIRTIO_BLK_S_UNSUPP,
            "type {kind} flags {flags:#x}"
        );
        assert_eq!(d.data, disk().data);
    }
    // Two segments (the configuration space says one) or half of one.
    let mut d = disk();
    let (mem, mut c) = segment_request(VIRTIO_BLK_T_DISCARD, 4, 3, 0);
    c.readable[1].len = 32;
    handle_request(&mut d, &mem, &c);
    assert_eq!(status(&mem), VIRTIO_BLK_S_UNSUPP);
    c.readable[1].len = 8;
    handle_request(&mut d, &mem, &c);
    assert_eq!(status(&mem), VIRTIO_BLK_S_UNSUPP);
    assert_eq!(d.data, disk().data);
}

#[test]
fn sectors_beyond_the_disk_are_io_errors() {
    let last = (DISK_SIZE / 512) as u64;
    for sector in [last, last - 1, u64::MAX / 512 + 1, u64::MAX] {
        let mut d = disk();
        // Two sectors from `sector`: past the end in every case.
        let mem = request(VIRTIO_BLK_T_IN, sector);
        mem.fill(DATA, 1024, UNTOUCHED).unwrap();
        let c = chain(&[buf(HEADER, 16)], &[buf(DATA, 1024), buf(STATUS, 1)]);
        assert_eq!(handle_request(&mut d, &mem, &c), 1);
        assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR, "read at {sector}");
        assert!(ram_bytes(&mem, DATA, 1024).iter().all(|&b| b == UNTOUCHED));

        let mem = request(VIRTIO_BLK_T_OUT, sector);
        let c = chain(&[buf(HEADER, 16), buf(DATA, 1024)], &[buf(STATUS, 1)]);
        assert_eq!(handle_request(&mut d, &mem, &c), 1);
        assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR, "write at {sector}");

        for kind in [VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES] {
            let (mem, c) = segment_request(kind, sector, 2, 0);
            handle_request(&mut d, &mem, &c);
            assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR, "type {kind} at {sector}");
        }
        let (mem, c) = segment_request(VIRTIO_BLK_T_WRITE_ZEROES, 0, u32::MAX, 0);
        handle_request(&mut d, &mem, &c);
        assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR, "u32::MAX sectors");
        assert_eq!(d.data, disk().data);
    }
}

#[test]
fn a_read_only_disk_refuses_writes() {
    let mut d = MemDisk {
        read_only: true,
        ..disk()
    };
    let mem = request(VIRTIO_BLK_T_OUT, 0);
    let c = chain(&[buf(HEADER, 16), buf(DATA, 512)], &[buf(STATUS, 1)]);
    handle_request(&mut d, &mem, &c);
    assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR);
    for kind in [VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES] {
        let (mem, c) = segment_request(kind, 0, 1, 0);
        handle_request(&mut d, &mem, &c);
        assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR, "type {kind}");
    }
    assert_eq!(d.data, disk().data);
    // Reads still work.
    let mem = request(VIRTIO_BLK_T_IN, 1);
    let c = chain(&[buf(HEADER, 16)], &[buf(DATA, 512), buf(STATUS, 1)]);
    handle_request(&mut d, &mem, &c);
    assert_eq!(status(&mem), VIRTIO_BLK_S_OK);
    assert_eq!(ram_bytes(&mem, DATA, 512), d.data[512..1024]);
}

#[test]
fn unknown_types_are_unsupported() {
    for kind in [2, 3, 5, 9, 10, 12, 14, 0xffff_ffff] {
        let mut d = disk();
        let mem = request(kind, 0);
        let c = chain(&[buf(HEADER, 16)], &[buf(DATA, 512), buf(STATUS, 1)]);
        assert_eq!(handle_request(&mut d, &mem, &c), 1);
        assert_eq!(status(&mem), VIRTIO_BLK_S_UNSUPP, "type {kind}");
        assert_eq!(d.data, disk().data);
    }
}

#[test]
fn a_short_header_is_an_io_error() {
    let mut d = disk();
    let mem = request(VIRTIO_BLK_T_OUT, 0);
    let c = chain(&[buf(HEADER, 8)], &[buf(STATUS, 1)]);
    assert_eq!(handle_request(&mut d, &mem, &c), 1);
    assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR);
    let c = chain(&[], &[buf(STATUS, 1)]);
    assert_eq!(handle_request(&mut d, &mem, &c), 1);
    assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR);
    // A header split over buffers is fine.
    let mem = request(VIRTIO_BLK_T_FLUSH, 0);
    let c = chain(&[buf(HEADER, 3), buf(HEADER + 3, 13)], &[buf(STATUS, 1)]);
    handle_request(&mut d, &mem, &c);
    assert_eq!(status(&mem), VIRTIO_BLK_S_OK);
}

#[test]
fn without_a_writable_byte_there_is_no_answer() {
    let mut d = disk();
    let mem = request(VIRTIO_BLK_T_IN, 0);
    mem.take_dma_writes();
    for writable in [vec![], vec![buf(DATA, 0), buf(STATUS, 0)]] {
        let c = chain(&[buf(HEADER, 16), buf(DATA, 512)], &writable);
        assert_eq!(handle_request(&mut d, &mem, &c), 0);
    }
    assert_eq!(mem.take_dma_writes(), []);
    assert_eq!(status(&mem), UNTOUCHED as u32);
}

/// A disk that keeps no data and records its accesses: it accepts offsets
/// past its size, so that only the device's own range check stops them.
struct Sink {
    size: u64,
    largest: usize,
    accesses: usize,
}

impl Sink {
    fn new(size: u64) -> Sink {
        Sink {
            size,
            largest: 0,
            accesses: 0,
        }
    }
}

impl Disk for Sink {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_only(&self) -> bool {
        false
    }
    fn serial(&self) -> Option<&str> {
        None
    }
    fn read_at(&mut self, buf: &mut [u8], _offset: u64) -> std::io::Result<()> {
        self.largest = self.largest.max(buf.len());
        self.accesses += 1;
        Ok(())
    }
    fn write_at(&mut self, buf: &[u8], _offset: u64) -> std::io::Result<()> {
        self.largest = self.largest.max(buf.len());
        self.accesses += 1;
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn write_zeroes(&mut self, _offset: u64, _len: u64) -> std::io::Result<()> {
        self.accesses += 1;
        Ok(())
    }
    fn discard(&mut self, _offset: u64, _len: u64) -> std::io::Result<()> {
        self.accesses += 1;
        Ok(())
    }
}

#[test]
fn large_requests_move_in_bounded_chunks() {
    // 8 MiB of guest RAM, transferred whole, in both directions.
    let mem = ram(9 << 20);
    let data = RAM_BASE + (1 << 20);
    let status_at = RAM_BASE + 0x800;
    let mut sink = Sink::new(1 << 40);
    let h = |kind: u32| {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&kind.to_le_bytes());
        mem.write(RAM_BASE, &h).unwrap();
    };
    h(VIRTIO_BLK_T_IN);
    let c = chain(
        &[buf(RAM_BASE, 16)],
        &[buf(data, 8 << 20), buf(status_at, 1)],
    );
    assert_eq!(handle_request(&mut sink, &mem, &c), (8 << 20) + 1);
    h(VIRTIO_BLK_T_OUT);
    let c = chain(
        &[buf(RAM_BASE, 16), buf(data, 8 << 20)],
        &[buf(status_at, 1)],
    );
    assert_eq!(handle_request(&mut sink, &mem, &c), 1);
    assert_eq!(
        mem.read_u16(status_at).unwrap() as u8,
        VIRTIO_BLK_S_OK as u8
    );
    assert!(sink.largest <= CHUNK, "a {} byte buffer", sink.largest);
}

#[test]
fn huge_described_lengths_allocate_nothing_huge() {
    // 256 buffers of 4 GiB each (1 TiB) on a 2 TiB disk: the lengths pass the
    // range check, and the first access outside RAM ends the request. Holding
    // the whole request in memory would abort the test.
    let mem = ram(0x10000);
    let huge: Vec<Buffer> = (0..256)
        .map(|i| buf(RAM_BASE + (i << 32), u32::MAX))
        .collect();
    let mut sink = Sink::new(2 << 40);
    for kind in [VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT] {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&kind.to_le_bytes());
        mem.write(HEADER, &h).unwrap();
        let c = if kind == VIRTIO_BLK_T_IN {
            let mut w = huge.clone();
            w.push(buf(STATUS, 1));
            chain(&[buf(HEADER, 16)], &w)
        } else {
            let mut r = vec![buf(HEADER, 16)];
            r.extend(&huge);
            chain(&r, &[buf(STATUS, 1)])
        };
        handle_request(&mut sink, &mem, &c);
        assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR, "type {kind}");
    }
    assert!(sink.largest <= CHUNK);
}

#[test]
fn requests_end_at_the_last_sector() {
    // One sector at each end of an 8 KiB disk, then one sector too far.
    for (sector, ok) in [(0, true), (15, true), (16, false), (17, false)] {
        let expected = if ok {
            VIRTIO_BLK_S_OK
        } else {
            VIRTIO_BLK_S_IOERR
        };
        let mut sink = Sink::new(16 * 512);
        for kind in [VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT] {
            let mem = request(kind, sector);
            let c = if kind == VIRTIO_BLK_T_IN {
                chain(&[buf(HEADER, 16)], &[buf(DATA, 512), buf(STATUS, 1)])
            } else {
                chain(&[buf(HEADER, 16), buf(DATA, 512)], &[buf(STATUS, 1)])
            };
            handle_request(&mut sink, &mem, &c);
            assert_eq!(status(&mem), expected, "type {kind}, sector {sector}");
        }
        for kind in [VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES] {
            let (mem, c) = segment_request(kind, sector, 1, 0);
            handle_request(&mut sink, &mem, &c);
            assert_eq!(status(&mem), expected, "type {kind}, sector {sector}");
        }
        assert_eq!(sink.accesses, if ok { 4 } else { 0 }, "sector {sector}");
    }
}
