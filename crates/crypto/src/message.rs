//! Signatures over arbitrary messages (for contracts) and the two hash functions contracts use.
//!
//! A message signature is over `union_unique(MESSAGE_NAMESPACE, message)` in every scheme, so a
//! signature made for a contract can never pass as a transaction signature, nor the reverse.

use crate::{AccountSigner, SM2_DISTINGUISHING_ID};
use ::sm3::Digest;
use commonware_codec::DecodeExt;
use commonware_cryptography::{Hasher, Sha256, Signer, Verifier, ed25519};
use formica_types::{AccountKey, KeyScheme};
use k256::ecdsa::signature;

/// The namespace of signatures over contract messages.
pub const MESSAGE_NAMESPACE: &[u8] = b"FORMICA_MESSAGE_V1";

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::default();
    hasher.update(data);
    hasher.finalize().1.0
}

/// SM3 (GB/T 32905) of `data`.
pub fn sm3(data: &[u8]) -> [u8; 32] {
    ::sm3::Sm3::digest(data).into()
}

/// The namespace of RPC access tokens (see `formica-rpc`'s access module): a token can never pass
/// as a contract message signature or a transaction signature, nor the reverse.
pub const ACCESS_NAMESPACE: &[u8] = b"FORMICA_RPC_ACCESS_V1";

/// Signs `message` under [`MESSAGE_NAMESPACE`] (64 bytes in every scheme).
pub fn sign_message(signer: &AccountSigner, message: &[u8]) -> Vec<u8> {
    sign_in(MESSAGE_NAMESPACE, signer, message)
}

/// Whether `signature` is `key`'s signature of `message` under [`MESSAGE_NAMESPACE`]. Malformed
/// keys and signatures are simply invalid.
pub fn verify_message(key: &AccountKey, message: &[u8], signature: &[u8]) -> bool {
    verify_in(MESSAGE_NAMESPACE, key, message, signature)
}

/// Signs an RPC access token's `message` under [`ACCESS_NAMESPACE`].
pub fn sign_access(signer: &AccountSigner, message: &[u8]) -> Vec<u8> {
    sign_in(ACCESS_NAMESPACE, signer, message)
}

/// Whether `signature` is `key`'s signature of an access token's `message`.
pub fn verify_access(key: &AccountKey, message: &[u8], signature: &[u8]) -> bool {
    verify_in(ACCESS_NAMESPACE, key, message, signature)
}

fn sign_in(namespace: &[u8], signer: &AccountSigner, message: &[u8]) -> Vec<u8> {
    match signer {
        AccountSigner::Ed25519(key) => key.sign(namespace, message).as_ref().to_vec(),
        AccountSigner::Sm2(key) => {
            let framed = commonware_utils::union_unique(namespace, message);
            let signature: sm2::dsa::Signature = signature::Signer::sign(key, &framed);
            signature.to_bytes().to_vec()
        }
        AccountSigner::Secp256k1(key) => {
            let framed = commonware_utils::union_unique(namespace, message);
            let signature: k256::ecdsa::Signature = signature::Signer::sign(key, &framed);
            signature.to_bytes().to_vec()
        }
    }
}

fn verify_in(namespace: &[u8], key: &AccountKey, message: &[u8], signature: &[u8]) -> bool {
    match key.scheme() {
        KeyScheme::Ed25519 => {
            let Ok(public) = ed25519::PublicKey::decode(bytes::Bytes::copy_from_slice(key.key_bytes())) else {
                return false;
            };
            let Ok(signature) = ed25519::Signature::decode(bytes::Bytes::copy_from_slice(signature)) else {
                return false;
            };
            public.verify(namespace, message, &signature)
        }
        KeyScheme::Sm2 => {
            let Ok(public) = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTINGUISHING_ID, key.key_bytes()) else {
                return false;
            };
            let Ok(signature) = sm2::dsa::Signature::from_slice(signature) else {
                return false;
            };
            let framed = commonware_utils::union_unique(namespace, message);
            signature::Verifier::verify(&public, &framed, &signature).is_ok()
        }
        KeyScheme::Secp256k1 => {
            let Ok(public) = k256::ecdsa::VerifyingKey::from_sec1_bytes(key.key_bytes()) else {
                return false;
            };
            let Ok(signature) = k256::ecdsa::Signature::from_slice(signature) else {
                return false;
            };
            let framed = commonware_utils::union_unique(namespace, message);
            signature::Verifier::verify(&public, &framed, &signature).is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_signatures_verify_in_every_scheme_and_only_for_their_message() {
        for scheme in [KeyScheme::Ed25519, KeyScheme::Sm2, KeyScheme::Secp256k1] {
            let signer = AccountSigner::from_seed(scheme, 7);
            let signature = sign_message(&signer, b"pay 10");
            assert_eq!(signature.len(), 64);
            assert!(verify_message(&signer.public_key(), b"pay 10", &signature));
            assert!(!verify_message(&signer.public_key(), b"pay 11", &signature));
            let other = AccountSigner::from_seed(scheme, 8);
            assert!(!verify_message(&other.public_key(), b"pay 10", &signature));
            assert!(!verify_message(&signer.public_key(), b"pay 10", &signature[..63]));
            // Namespaces keep message signatures and access tokens apart.
            assert!(!verify_access(&signer.public_key(), b"pay 10", &signature));
            let access = sign_access(&signer, b"pay 10");
            assert!(verify_access(&signer.public_key(), b"pay 10", &access));
            assert!(!verify_message(&signer.public_key(), b"pay 10", &access));
        }
    }

    #[test]
    fn hashes_match_known_vectors() {
        assert_eq!(hex::encode(sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(hex::encode(sm3(b"abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    }
}
