//! `--net` options, as QEMU spells them: `user[,net=A.B.C.D/N][,hostfwd=...]...[,mac=...]`
//! or `tap,ifname=NAME[,mac=...]`.

use std::net::Ipv4Addr;

/// One `hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostForward {
    pub udp: bool,
    pub host_addr: Ipv4Addr,
    pub host_port: u16,
    /// `None`: the guest's DHCP address.
    pub guest_addr: Option<Ipv4Addr>,
    pub guest_port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    User {
        /// The virtual network and its prefix length (default 10.0.2.0/24).
        net: (Ipv4Addr, u8),
        forwards: Vec<HostForward>,
    },
    Tap {
        ifname: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetOptions {
    pub backend: Backend,
    pub mac: [u8; 6],
}

/// QEMU's first default MAC: stable across runs, in the locally administered range QEMU uses.
pub const DEFAULT_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

impl std::str::FromStr for NetOptions {
    type Err = String;
    fn from_str(s: &str) -> Result<NetOptions, String> {
        let mut parts = s.split(',');
        let kind = parts.next().unwrap_or("");
        let mut mac = DEFAULT_MAC;
        let mut net = (Ipv4Addr::new(10, 0, 2, 0), 24);
        let mut forwards = Vec::new();
        let mut ifname = None;
        for part in parts {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not KEY=VALUE"))?;
            match (kind, key) {
                (_, "mac") => mac = parse_mac(value)?,
                ("user", "net") => net = parse_net(value)?,
                ("user", "hostfwd") => forwards.push(parse_hostfwd(value)?),
                ("tap", "ifname") if !value.is_empty() && value.len() < 16 => {
                    ifname = Some(value.to_string())
                }
                ("tap", "ifname") => return Err("ifname= takes 1 to 15 characters".into()),
                _ => return Err(format!("unknown --net {kind} option '{key}'")),
            }
        }
        let backend = match kind {
            "user" => Backend::User { net, forwards },
            "tap" => Backend::Tap {
                ifname: ifname.ok_or("--net tap needs ifname=NAME")?,
            },
            _ => return Err(format!("'{kind}' is not user or tap")),
        };
        Ok(NetOptions { backend, mac })
    }
}

fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let bytes: Vec<u8> = s
        .split(':')
        .map(|b| u8::from_str_radix(b, 16))
        .collect::<Result<_, _>>()
        .map_err(|_| format!("'{s}' is not a MAC address"))?;
    let mac: [u8; 6] = bytes
        .try_into()
        .map_err(|_| format!("'{s}' is not a MAC address"))?;
    if mac[0] & 1 != 0 {
        return Err(format!("'{s}' is a multicast address"));
    }
    Ok(mac)
}

fn parse_net(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let (addr, len) = s.split_once('/').unwrap_or((s, "24"));
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("'{s}' is not A.B.C.D/N"))?;
    let len: u8 = len.parse().map_err(|_| format!("'{s}' is not A.B.C.D/N"))?;
    // Room for the gateway (.2), DNS (.3) and DHCP addresses from .15.
    if !(8..=27).contains(&len) {
        return Err(format!("net= prefix /{len} is not between /8 and /27"));
    }
    let mask = u32::MAX << (32 - len);
    Ok((Ipv4Addr::from(u32::from(addr) & mask), len))
}

fn parse_hostfwd(s: &str) -> Result<HostForward, String> {
    let bad = || format!("'{s}' is not [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT");
    let (proto, rest) = match s.split_once(':') {
        Some(("tcp", r)) | Some(("", r)) => (false, r),
        Some(("udp", r)) => (true, r),
        _ => return Err(bad()),
    };
    let (host, guest) = rest.split_once('-').ok_or_else(bad)?;
    let addr_port = |part: &str| -> Result<(Option<Ipv4Addr>, u16), String> {
        let (a, p) = part.rsplit_once(':').ok_or_else(bad)?;
        let addr = if a.is_empty() {
            None
        } else {
            Some(a.parse().map_err(|_| bad())?)
        };
        Ok((addr, p.parse().map_err(|_| bad())?))
    };
    let (host_addr, host_port) = addr_port(host)?;
    let (guest_addr, guest_port) = addr_port(guest)?;
    Ok(HostForward {
        udp: proto,
        host_addr: host_addr.unwrap_or(Ipv4Addr::UNSPECIFIED),
        host_port,
        guest_addr,
        guest_port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qemu_style_options() {
        let o: NetOptions = "user,hostfwd=tcp:127.0.0.1:2222-:22,net=192.168.76.9/24"
            .parse()
            .unwrap();
        assert_eq!(o.mac, DEFAULT_MAC);
        let Backend::User { net, forwards } = o.backend else {
            panic!()
        };
        assert_eq!(net, (Ipv4Addr::new(192, 168, 76, 0), 24));
        assert_eq!(
            forwards,
            vec![HostForward {
                udp: false,
                host_addr: Ipv4Addr::LOCALHOST,
                host_port: 2222,
                guest_addr: None,
                guest_port: 22
            }]
        );
        let o: NetOptions = "tap,ifname=tap0,mac=02:00:00:00:00:01".parse().unwrap();
        assert_eq!(
            o.backend,
            Backend::Tap {
                ifname: "tap0".into()
            }
        );
        assert_eq!(o.mac, [2, 0, 0, 0, 0, 1]);
        let u: NetOptions = "user,hostfwd=udp::5353-10.0.2.20:53".parse().unwrap();
        assert!(
            matches!(u.backend, Backend::User { ref forwards, .. } if forwards[0].udp && forwards[0].guest_addr == Some(Ipv4Addr::new(10, 0, 2, 20)))
        );
        for bad in [
            "",
            "bridge",
            "tap",
            "user,mac=01:00:00:00:00:01",
            "user,mac=zz",
            "user,hostfwd=tcp:1-2",
            "user,hostfwd=sctp::1-:2",
            "user,net=10.0.2.0/30",
            "user,ifname=x",
            "user,foo=1",
        ] {
            assert!(bad.parse::<NetOptions>().is_err(), "{bad}");
        }
    }
}
