//! The records registry example.

use crate::examples::{address, call, query, reverts, wasm};
use formica_contract::{Address, Codec, DecodeError};
use formica_crypto::{AccountSigner, sign_message, sm3};
use formica_types::{AccountId, KeyScheme};
use formica_vm::testing::TestChain;

/// The contract's `Record`.
#[derive(Debug)]
struct Record {
    value: Vec<u8>,
    digest: [u8; 32],
    author: Address,
    version: u32,
    attestations: Vec<(u8, Vec<u8>)>,
}

impl Codec for Record {
    fn encode_to(&self, _out: &mut Vec<u8>) {
        unreachable!("the tests only decode records")
    }
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let (value, digest, author, version, _height, attestations) =
            <(Vec<u8>, [u8; 32], Address, u32, u64, Vec<(u8, Vec<u8>)>)>::decode_from(input)?;
        Ok(Self { value, digest, author, version, attestations })
    }
}

fn deployed() -> (TestChain, AccountId, AccountId, AccountId) {
    let mut chain = TestChain::default();
    let admin = chain.account("admin", 0);
    let writer = chain.account("writer", 0);
    let registry = chain.deploy(admin, &wasm("registry"), &[]).expect("deploys");
    call::<_, ()>(&mut chain, admin, registry, "set_writer", &(address(writer), true), 0);
    (chain, admin, writer, registry)
}

#[test]
fn only_writers_put_and_everyone_reads() {
    let (mut chain, admin, writer, registry) = deployed();
    let stranger = chain.account("stranger", 0);
    assert_eq!(reverts(&mut chain, stranger, registry, "put", &(String::from("lot-1"), vec![1u8]), 0), "NotWriter");
    assert_eq!(reverts(&mut chain, stranger, registry, "set_writer", &(address(stranger), true), 0), "NotAdmin");
    let version: u32 =
        call(&mut chain, writer, registry, "put", &(String::from("lot-1"), b"origin: farm 7".to_vec()), 0);
    assert_eq!(version, 1);
    let version: u32 =
        call(&mut chain, writer, registry, "put", &(String::from("lot-1"), b"origin: farm 8".to_vec()), 0);
    assert_eq!(version, 2);
    let record: Option<Record> = query(&chain, registry, "get", &(String::from("lot-1"),));
    let record = record.expect("exists");
    assert_eq!(record.value, b"origin: farm 8");
    assert_eq!(record.digest, sm3(b"origin: farm 8"), "the contract's SM3 matches formica-crypto");
    assert_eq!((record.author, record.version), (address(writer), 2));
    call::<_, ()>(&mut chain, admin, registry, "set_writer", &(address(writer), false), 0);
    assert_eq!(reverts(&mut chain, writer, registry, "remove", &(String::from("lot-1"),), 0), "NotWriter");
    assert_eq!(reverts(&mut chain, writer, registry, "put", &(String::from("k"), vec![0u8; 3000]), 0), "NotWriter");
}

#[test]
fn limits_of_the_contract_hold() {
    let (mut chain, _admin, writer, registry) = deployed();
    assert_eq!(reverts(&mut chain, writer, registry, "put", &("k".repeat(65), vec![0u8]), 0), "KeyTooLong");
    assert_eq!(reverts(&mut chain, writer, registry, "put", &(String::from("k"), vec![0u8; 2049]), 0), "ValueTooLong");
}

#[test]
fn listing_pages_through_keys_in_order() {
    let (mut chain, _admin, writer, registry) = deployed();
    for key in ["c", "a", "b", "d"] {
        call::<_, u32>(&mut chain, writer, registry, "put", &(String::from(key), vec![1u8]), 0);
    }
    call::<_, ()>(&mut chain, writer, registry, "remove", &(String::from("b"),), 0);
    let first: Vec<String> = query(&chain, registry, "list", &(None::<String>, 2u32));
    assert_eq!(first, vec!["a", "c"]);
    let rest: Vec<String> = query(&chain, registry, "list", &(Some(String::from("c")), 10u32));
    assert_eq!(rest, vec!["d"]);
}

#[test]
fn attestations_are_verified_on_chain_in_every_scheme() {
    let (mut chain, _admin, writer, registry) = deployed();
    let stranger = chain.account("stranger", 0);
    call::<_, u32>(&mut chain, writer, registry, "put", &(String::from("doc"), b"contract text".to_vec()), 0);
    let digest = sm3(b"contract text");
    for (index, scheme) in [KeyScheme::Ed25519, KeyScheme::Sm2, KeyScheme::Secp256k1].into_iter().enumerate() {
        let signer = AccountSigner::from_seed(scheme, 42);
        let signature: [u8; 64] = sign_message(&signer, &digest).try_into().expect("64 bytes");
        let key = signer.public_key().key_bytes().to_vec();
        let args = (String::from("doc"), index as u8, key.clone(), signature);
        let count: u32 = call(&mut chain, stranger, registry, "attest", &args, 0);
        assert_eq!(count, index as u32 + 1);
        let mut forged = signature;
        forged[10] ^= 1;
        let args = (String::from("doc"), index as u8, key, forged);
        assert_eq!(reverts(&mut chain, stranger, registry, "attest", &args, 0), "InvalidSignature");
    }
    let record: Option<Record> = query(&chain, registry, "get", &(String::from("doc"),));
    assert_eq!(record.expect("exists").attestations.len(), 3);
    let bad_scheme = (String::from("doc"), 9u8, vec![0u8; 32], [0u8; 64]);
    assert_eq!(reverts(&mut chain, stranger, registry, "attest", &bad_scheme, 0), "UnknownScheme");
}
