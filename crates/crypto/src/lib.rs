//! Account keys, transaction authorisation and batch signature verification.
//!
//! This is the one crate that touches signature primitives directly. Transactions are signed with
//! commonware's ed25519, whose single and batch verification accept exactly the same signatures
//! (ZIP-215 rules), so a validator that checks a block in one batch and one that checks it
//! signature by signature always agree on its validity.
//!
//! Verification is batched: [`verify_batch`] checks many transactions at once and, only when a
//! batch fails, bisects it to name the transactions at fault.
//!
//! Key files ([`KeyFile`]) hold an ed25519 private key as hex JSON; they are what
//! `formica keys new` writes and what nodes and clients read.

use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{BatchEntry, BatchVerifier, Signer, ed25519};
use commonware_math::algebra::Random;
use commonware_parallel::Sequential;
use formica_types::{AccountId, PublicKey, TRANSACTION_NAMESPACE, Transaction, public_key_to_hex};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Why a transaction's signatures do not authorise it.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthorisationError {
    #[error("the transaction carries no signature from the account's key")]
    MissingSignature,
    #[error("the transaction carries a signature from a key the account does not hold")]
    UnknownKey,
    #[error("a key signed the transaction twice")]
    DuplicateKey,
}

/// Checks that the signer set is exactly the account key (one signature, from `account_key`).
///
/// Signature validity itself is checked by [`verify_batch`]; this checks who signed.
pub fn authorise(account_key: &PublicKey, transaction: &Transaction) -> Result<(), AuthorisationError> {
    let mut found = false;
    for entry in &transaction.signatures {
        if &entry.public_key != account_key {
            return Err(AuthorisationError::UnknownKey);
        }
        if found {
            return Err(AuthorisationError::DuplicateKey);
        }
        found = true;
    }
    if found { Ok(()) } else { Err(AuthorisationError::MissingSignature) }
}

/// Verifies every signature of every transaction. Returns, for each transaction, whether all of
/// its signatures are valid.
///
/// The common case (all valid) costs one batch verification. A failed batch is split in halves
/// recursively, so `k` bad transactions among `n` cost about `2k log n` smaller batches.
pub fn verify_batch<R: CryptoRng>(rng: &mut R, transactions: &[&Transaction]) -> Vec<bool> {
    let messages: Vec<_> = transactions.iter().map(|transaction| transaction.body.encode()).collect();
    let mut valid = vec![true; transactions.len()];
    bisect(rng, transactions, &messages, 0, transactions.len(), &mut valid);
    valid
}

fn bisect<R: CryptoRng>(
    rng: &mut R,
    transactions: &[&Transaction],
    messages: &[bytes::Bytes],
    start: usize,
    end: usize,
    valid: &mut [bool],
) {
    if start == end {
        return;
    }
    if batch_ok(rng, &transactions[start..end], &messages[start..end]) {
        return;
    }
    if end - start == 1 {
        valid[start] = false;
        return;
    }
    let middle = start + (end - start) / 2;
    bisect(rng, transactions, messages, start, middle, valid);
    bisect(rng, transactions, messages, middle, end, valid);
}

fn batch_ok<R: CryptoRng>(rng: &mut R, transactions: &[&Transaction], messages: &[bytes::Bytes]) -> bool {
    let entries: Vec<(usize, usize)> = transactions
        .iter()
        .enumerate()
        .flat_map(|(index, transaction)| (0..transaction.signatures.len()).map(move |signature| (index, signature)))
        .collect();
    if entries.is_empty() {
        // A transaction without signatures is never valid (and the decoder refuses it).
        return transactions.is_empty();
    }
    if transactions.iter().any(|transaction| transaction.signatures.is_empty()) {
        return false;
    }
    ed25519::PublicKey::verify_batch(
        rng,
        &entries,
        |_, (index, signature)| {
            let entry = &transactions[*index].signatures[*signature];
            BatchEntry {
                namespace: TRANSACTION_NAMESPACE,
                message: messages[*index].as_ref(),
                public_key: &entry.public_key,
                signature: &entry.signature,
            }
        },
        &Sequential,
    )
}

/// A key file: an ed25519 key pair and the account id it controls, as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyFile {
    pub account_id: AccountId,
    /// `0x` hex of the public key.
    pub public_key: String,
    /// `0x` hex of the 32-byte private key seed. Keep this file private.
    pub private_key: String,
}

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("key file {path} is not valid JSON: {source}")]
    Json { path: String, source: serde_json::Error },
    #[error("key file {path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl KeyFile {
    /// Generates a fresh key from `rng`.
    pub fn generate<R: CryptoRng>(rng: &mut R) -> (Self, ed25519::PrivateKey) {
        let key = ed25519::PrivateKey::random(rng);
        (Self::from_private_key(&key), key)
    }

    /// The key file for an existing key.
    pub fn from_private_key(key: &ed25519::PrivateKey) -> Self {
        let public_key = key.public_key();
        Self {
            account_id: AccountId::from_public_key(&public_key),
            public_key: public_key_to_hex(&public_key),
            private_key: format!("0x{}", hex::encode(key.encode())),
        }
    }

    /// Parses the private key and checks that the public key and account id match it.
    pub fn private_key(&self) -> Result<ed25519::PrivateKey, String> {
        let text = self.private_key.strip_prefix("0x").unwrap_or(&self.private_key);
        let bytes = hex::decode(text).map_err(|error| format!("private_key is not hex: {error}"))?;
        let key = ed25519::PrivateKey::decode(bytes).map_err(|error| format!("private_key: {error}"))?;
        let expected = Self::from_private_key(&key);
        if expected.public_key != self.public_key {
            return Err("public_key does not match private_key".into());
        }
        if expected.account_id != self.account_id {
            return Err("account_id does not match the key".into());
        }
        Ok(key)
    }

    /// Reads and checks a key file.
    pub fn read(path: &Path) -> Result<(Self, ed25519::PrivateKey), KeyFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io { path: shown.clone(), source })?;
        let file: Self =
            serde_json::from_str(&text).map_err(|source| KeyFileError::Json { path: shown.clone(), source })?;
        let key = file.private_key().map_err(|reason| KeyFileError::Invalid { path: shown, reason })?;
        Ok((file, key))
    }

    /// Writes the key file (mode 0600 on Unix).
    pub fn write(&self, path: &Path) -> Result<(), KeyFileError> {
        let shown = path.display().to_string();
        let text = serde_json::to_string_pretty(self).expect("a key file always serialises");
        std::fs::write(path, text + "\n").map_err(|source| KeyFileError::Io { path: shown.clone(), source })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|source| KeyFileError::Io { path: shown, source })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use formica_types::{Amount, ChainId, Height, Nonce, Payload, TransactionBody};

    fn transfer(seed: u64, nonce: u64) -> (Transaction, ed25519::PrivateKey) {
        let key = ed25519::PrivateKey::from_seed(seed);
        let body = TransactionBody {
            chain_id: ChainId(7),
            sender: AccountId::from_public_key(&key.public_key()),
            nonce: Nonce(nonce),
            expiry_height: Height(10),
            fee_limit: Amount(1),
            payload: Payload::Transfer { to: AccountId([1; 32]), amount: Amount(3) },
        };
        (body.sign(&[&key]), key)
    }

    #[test]
    fn batch_accepts_valid_and_names_each_invalid_transaction() {
        let mut rng = commonware_utils::test_rng();
        let mut transactions: Vec<Transaction> = (0..40).map(|n| transfer(n, n).0).collect();
        for bad in [3usize, 17, 39] {
            transactions[bad].body.nonce = Nonce(999);
        }
        let references: Vec<&Transaction> = transactions.iter().collect();
        let valid = verify_batch(&mut rng, &references);
        for (index, ok) in valid.iter().enumerate() {
            assert_eq!(*ok, ![3, 17, 39].contains(&index), "transaction {index}");
            assert_eq!(*ok, transactions[index].verify_signatures_individually(), "batch and single agree at {index}");
        }
    }

    #[test]
    fn empty_batch_is_trivially_valid() {
        assert!(verify_batch(&mut commonware_utils::test_rng(), &[]).is_empty());
    }

    #[test]
    fn authorisation_requires_exactly_the_account_key() {
        let (transaction, key) = transfer(1, 0);
        assert_eq!(authorise(&key.public_key(), &transaction), Ok(()));
        let other = ed25519::PrivateKey::from_seed(2).public_key();
        assert_eq!(authorise(&other, &transaction), Err(AuthorisationError::UnknownKey));
        let mut twice = transaction.clone();
        twice.signatures.push(twice.signatures[0].clone());
        assert_eq!(authorise(&key.public_key(), &twice), Err(AuthorisationError::DuplicateKey));
        let mut none = transaction;
        none.signatures.clear();
        assert_eq!(authorise(&key.public_key(), &none), Err(AuthorisationError::MissingSignature));
    }

    #[test]
    fn key_file_round_trips_and_detects_tampering() {
        let (file, key) = KeyFile::generate(&mut commonware_utils::test_rng());
        assert_eq!(file.private_key().expect("valid").public_key(), key.public_key());
        let mut tampered = file.clone();
        tampered.account_id = AccountId([0; 32]);
        assert!(tampered.private_key().is_err());
        let directory = std::env::temp_dir().join(format!("formica-key-{}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("temp dir");
        let path = directory.join("key.json");
        file.write(&path).expect("writes");
        let (read, _) = KeyFile::read(&path).expect("reads");
        assert_eq!(read, file);
    }
}
