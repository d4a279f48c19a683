//! The node registry: which nodes take part in consensus (validators) and which only follow the
//! chain (observers), whose organisation runs each, and where peers reach it.
//!
//! The registry changes by governance vote; the consensus committee of an epoch is the list of
//! validators in the registry when the previous epoch's last block was executed, in registry
//! order. Records are fixed-size like every other state record.

use crate::governance::OrgId;
use crate::primitives::PublicKey;
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The most nodes (validators and observers together) the registry holds.
pub const NODES_MAX: u16 = 64;
/// The most validators an epoch's committee may have.
pub const VALIDATORS_MAX: u16 = 32;

/// What a registered node does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeRole {
    /// Votes in consensus.
    Validator,
    /// Follows and verifies the chain and serves RPC, without voting.
    Observer,
}

impl NodeRole {
    const TAG_VALIDATOR: u8 = 0;
    const TAG_OBSERVER: u8 = 1;

    /// The role's name in the CLI and RPC.
    pub fn as_str(&self) -> &'static str {
        match self {
            NodeRole::Validator => "validator",
            NodeRole::Observer => "observer",
        }
    }
}

impl fmt::Display for NodeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for NodeRole {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "validator" => Ok(NodeRole::Validator),
            "observer" => Ok(NodeRole::Observer),
            other => Err(format!("unknown node role {other:?} (validator or observer)")),
        }
    }
}

impl Write for NodeRole {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            NodeRole::Validator => Self::TAG_VALIDATOR,
            NodeRole::Observer => Self::TAG_OBSERVER,
        }
        .write(buf);
    }
}

impl FixedSize for NodeRole {
    const SIZE: usize = 1;
}

impl Read for NodeRole {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            Self::TAG_VALIDATOR => Ok(NodeRole::Validator),
            Self::TAG_OBSERVER => Ok(NodeRole::Observer),
            tag => Err(CodecError::InvalidEnum(tag)),
        }
    }
}

/// A p2p address in a fixed 18 bytes: the IP as IPv6 (IPv4 mapped) and the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeAddress(pub SocketAddr);

impl NodeAddress {
    /// The address of a record (IPv4-mapped addresses come back as IPv4).
    pub fn socket_addr(&self) -> SocketAddr {
        self.0
    }
}

impl fmt::Display for NodeAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Write for NodeAddress {
    fn write(&self, buf: &mut impl BufMut) {
        let ip = match self.0.ip() {
            IpAddr::V4(ip) => ip.to_ipv6_mapped(),
            IpAddr::V6(ip) => ip,
        };
        buf.put_slice(&ip.octets());
        self.0.port().write(buf);
    }
}

impl FixedSize for NodeAddress {
    const SIZE: usize = 16 + 2;
}

impl Read for NodeAddress {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let ip = Ipv6Addr::from(<[u8; 16]>::read(buf)?);
        let port = u16::read(buf)?;
        let ip = match ip.to_ipv4_mapped() {
            Some(ip) => IpAddr::V4(ip),
            None => IpAddr::V6(ip),
        };
        Ok(Self(SocketAddr::new(ip, port)))
    }
}

/// A registered node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its ed25519 p2p and consensus key.
    pub key: PublicKey,
    /// The organisation that runs it ([`OrgId::NONE`] for a genesis validator whose name matches
    /// no genesis organisation).
    pub org: OrgId,
    pub address: NodeAddress,
    pub role: NodeRole,
}

impl Write for Node {
    fn write(&self, buf: &mut impl BufMut) {
        self.key.write(buf);
        self.org.write(buf);
        self.address.write(buf);
        self.role.write(buf);
    }
}

impl FixedSize for Node {
    const SIZE: usize = PublicKey::SIZE + OrgId::SIZE + NodeAddress::SIZE + NodeRole::SIZE;
}

impl Read for Node {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            key: PublicKey::read(buf)?,
            org: OrgId::read(buf)?,
            address: NodeAddress::read(buf)?,
            role: NodeRole::read(buf)?,
        })
    }
}

/// The registry as an epoch's boundary block states it: every node in registry order. The
/// validators among them are the next epoch's committee.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSet(pub Vec<Node>);

impl NodeSet {
    /// The validators' keys, in registry order.
    pub fn validators(&self) -> Vec<PublicKey> {
        self.0.iter().filter(|node| node.role == NodeRole::Validator).map(|node| node.key.clone()).collect()
    }

    /// The observers' keys, in registry order.
    pub fn observers(&self) -> Vec<PublicKey> {
        self.0.iter().filter(|node| node.role == NodeRole::Observer).map(|node| node.key.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Write for NodeSet {
    fn write(&self, buf: &mut impl BufMut) {
        let count = u16::try_from(self.0.len()).expect("a node set holds at most NODES_MAX nodes");
        count.write(buf);
        for node in &self.0 {
            node.write(buf);
        }
    }
}

impl EncodeSize for NodeSet {
    fn encode_size(&self) -> usize {
        2 + self.0.len() * Node::SIZE
    }
}

impl Read for NodeSet {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let count = u16::read(buf)?;
        if count > NODES_MAX {
            return Err(CodecError::Invalid("NodeSet", "more than NODES_MAX nodes"));
        }
        let nodes = (0..count).map(|_| Node::read(buf)).collect::<Result<Vec<_>, _>>()?;
        let mut keys: Vec<&PublicKey> = nodes.iter().map(|node| &node.key).collect();
        keys.sort();
        if keys.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(CodecError::Invalid("NodeSet", "a key appears twice"));
        }
        Ok(Self(nodes))
    }
}

impl NodeSet {
    /// The largest encoding.
    pub const ENCODED_BYTES_MAX: usize = 2 + NODES_MAX as usize * Node::SIZE;
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};
    use commonware_cryptography::{Signer, ed25519};

    fn node(seed: u64, role: NodeRole, address: &str) -> Node {
        Node {
            key: ed25519::PrivateKey::from_seed(seed).public_key(),
            org: OrgId(seed as u32),
            address: NodeAddress(address.parse().expect("test address")),
            role,
        }
    }

    #[test]
    fn node_set_round_trips_ipv4_and_ipv6() {
        let set = NodeSet(vec![
            node(1, NodeRole::Validator, "127.0.0.1:30000"),
            node(2, NodeRole::Observer, "[2001:db8::1]:9"),
        ]);
        let bytes = set.encode();
        assert_eq!(bytes.len(), set.encode_size());
        assert_eq!(NodeSet::decode(bytes).expect("decodes"), set);
        assert_eq!(set.validators(), vec![set.0[0].key.clone()]);
        assert_eq!(set.observers(), vec![set.0[1].key.clone()]);
    }

    #[test]
    fn node_set_refuses_duplicate_keys_and_oversize() {
        let twice =
            NodeSet(vec![node(1, NodeRole::Validator, "127.0.0.1:1"), node(1, NodeRole::Observer, "127.0.0.1:2")]);
        assert!(NodeSet::decode(twice.encode()).is_err());
        let mut bytes = Vec::new();
        (NODES_MAX + 1).write(&mut bytes);
        assert!(NodeSet::decode(bytes::Bytes::from(bytes)).is_err());
        let mut bad_role = node(3, NodeRole::Validator, "127.0.0.1:1").encode().to_vec();
        *bad_role.last_mut().expect("non-empty") = 7;
        assert!(Node::decode(bytes::Bytes::from(bad_role)).is_err());
    }
}
