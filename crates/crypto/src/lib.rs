//! Account keys, transaction signing and authorisation, and batch signature verification.
//!
//! This is the one crate that touches signature primitives directly. Accounts hold keys in three
//! schemes ([`KeyScheme`]): Ed25519 (commonware's implementation, whose single and batch
//! verification accept exactly the same signatures under the ZIP-215 rules), SM2 with SM3
//! (RustCrypto `sm2`, distinguishing id [`SM2_DISTINGUISHING_ID`]) and ECDSA on secp256k1 over
//! SHA-256 (RustCrypto `k256`, low-S only). Every scheme signs the same bytes,
//! [`TransactionBody::signing_message`], so a signature is bound to the namespace and the chain id.
//!
//! Verification is batched: [`verify_batch`] checks many transactions at once (Ed25519 signatures
//! in one batch, SM2 and secp256k1 one by one, since neither has batch verification) and, only
//! when a batch fails, bisects it to name the transactions at fault. [`authorise`] then decides
//! whether the valid signatures carry enough weight for the sender's [`KeySet`]. Ed25519 account
//! keys are kept decompressed in a bounded process-wide cache (`keys`: two generations of 32,768),
//! which saves a point decompression per signature for accounts that sign often and never
//! changes a verdict.
//!
//! Key files ([`KeyFile`]) hold a private key of any scheme as hex JSON; they are what
//! `formica keys new` writes and what nodes and clients read.

mod keys;
mod message;

pub use message::{
    ACCESS_NAMESPACE, MESSAGE_NAMESPACE, sha256, sign_access, sign_message, sm3, verify_access, verify_message,
};

use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{BatchEntry, BatchVerifier, Signer, Verifier, ed25519};
use commonware_parallel::Sequential;
use formica_types::{
    AccountId, AccountKey, AccountSignature, KeyEntry, KeyScheme, TRANSACTION_NAMESPACE, Transaction, TransactionBody,
    TransactionSignature, public_key_to_hex,
};
use k256::ecdsa::signature;
use k256::elliptic_curve::sec1::ToSec1Point;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The SM2 distinguishing identifier every Formica SM2 signature uses (the GM/T 0009 default).
pub const SM2_DISTINGUISHING_ID: &str = "1234567812345678";

/// Why a transaction's signatures do not authorise it.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthorisationError {
    #[error("the transaction carries no signature")]
    MissingSignature,
    #[error("the transaction carries a signature from a key the account does not hold")]
    UnknownKey,
    #[error("a key signed the transaction twice")]
    DuplicateKey,
    #[error("the signing keys weigh {have}, the account needs {need}")]
    InsufficientWeight { have: u32, need: u16 },
    #[error("the recovery key must sign alone")]
    RecoveryKeyNotAlone,
    #[error("the recovery key may only start or complete a recovery")]
    RecoveryKeyNotAllowed,
    #[error("starting or completing a recovery needs the recovery key")]
    RecoveryNeedsRecoveryKey,
}

/// Who may sign for an account: its weighted keys, the weight needed, and its recovery key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySet {
    pub keys: Vec<KeyEntry>,
    pub threshold: u16,
    pub recovery: Option<AccountKey>,
}

impl KeySet {
    /// One key of weight 1, threshold 1: a newly created account.
    pub fn single(key: AccountKey) -> Self {
        Self { keys: vec![KeyEntry { key, weight: 1 }], threshold: 1, recovery: None }
    }

    /// The sum of all key weights.
    pub fn total_weight(&self) -> u32 {
        self.keys.iter().map(|entry| u32::from(entry.weight)).sum()
    }
}

/// Which authority signed a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authority {
    /// The account's keys, with enough weight.
    Keys,
    /// The recovery key alone (only for starting or completing a recovery).
    Recovery,
}

/// Decides whether the signers of `transaction` may act for an account with `keys`.
///
/// Signature validity itself is checked by [`verify_batch`]; this checks who signed and how much
/// their keys weigh.
pub fn authorise(keys: &KeySet, transaction: &Transaction) -> Result<Authority, AuthorisationError> {
    let signatures = &transaction.signatures;
    if signatures.is_empty() {
        return Err(AuthorisationError::MissingSignature);
    }
    for (index, entry) in signatures.iter().enumerate() {
        if signatures[..index].iter().any(|earlier| earlier.public_key == entry.public_key) {
            return Err(AuthorisationError::DuplicateKey);
        }
    }
    let recovery_action = transaction.body.payload.is_recovery_action();
    if let Some(recovery) = &keys.recovery
        && signatures.iter().any(|entry| &entry.public_key == recovery)
    {
        if signatures.len() != 1 {
            return Err(AuthorisationError::RecoveryKeyNotAlone);
        }
        if !recovery_action {
            return Err(AuthorisationError::RecoveryKeyNotAllowed);
        }
        return Ok(Authority::Recovery);
    }
    if recovery_action {
        return Err(AuthorisationError::RecoveryNeedsRecoveryKey);
    }
    let mut weight = 0u32;
    for entry in signatures {
        let key = keys.keys.iter().find(|key| key.key == entry.public_key).ok_or(AuthorisationError::UnknownKey)?;
        weight += u32::from(key.weight);
    }
    if weight < u32::from(keys.threshold) {
        return Err(AuthorisationError::InsufficientWeight { have: weight, need: keys.threshold });
    }
    Ok(Authority::Keys)
}

/// Whether `key` is a valid public key of its scheme (a point on the curve, not the identity).
pub fn validate_key(key: &AccountKey) -> bool {
    match key.scheme() {
        KeyScheme::Ed25519 => ed25519::PublicKey::decode(bytes::Bytes::copy_from_slice(key.key_bytes())).is_ok(),
        KeyScheme::Sm2 => sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTINGUISHING_ID, key.key_bytes()).is_ok(),
        KeyScheme::Secp256k1 => k256::ecdsa::VerifyingKey::from_sec1_bytes(key.key_bytes()).is_ok(),
    }
}

/// A private key of any account scheme.
#[derive(Clone)]
pub enum AccountSigner {
    Ed25519(ed25519::PrivateKey),
    Sm2(sm2::dsa::SigningKey),
    Secp256k1(k256::ecdsa::SigningKey),
}

impl std::fmt::Debug for AccountSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccountSigner({})", self.public_key())
    }
}

impl From<ed25519::PrivateKey> for AccountSigner {
    fn from(key: ed25519::PrivateKey) -> Self {
        AccountSigner::Ed25519(key)
    }
}

impl AccountSigner {
    /// A fresh key of `scheme` from `rng`.
    pub fn generate<R: CryptoRng>(scheme: KeyScheme, rng: &mut R) -> Self {
        loop {
            let mut secret = [0u8; 32];
            rng.fill_bytes(&mut secret);
            // A random 32-byte string is a valid scalar except with probability about 2^-128.
            if let Ok(signer) = Self::from_secret_bytes(scheme, &secret) {
                return signer;
            }
        }
    }

    /// A key derived from `seed`: for tests and development tools only.
    pub fn from_seed(scheme: KeyScheme, seed: u64) -> Self {
        let mut counter = 0u32;
        loop {
            let digest =
                formica_types::hash_tagged(b"formica/test-key/v1", &[&seed.to_be_bytes(), &counter.to_be_bytes()]);
            if let Ok(signer) = Self::from_secret_bytes(scheme, &digest.0) {
                return signer;
            }
            counter += 1;
        }
    }

    /// The key from its 32 secret bytes (an ed25519 seed, or an SM2/secp256k1 scalar).
    pub fn from_secret_bytes(scheme: KeyScheme, secret: &[u8]) -> Result<Self, String> {
        if secret.len() != 32 {
            return Err(format!("a private key is 32 bytes, got {}", secret.len()));
        }
        match scheme {
            KeyScheme::Ed25519 => ed25519::PrivateKey::decode(bytes::Bytes::copy_from_slice(secret))
                .map(AccountSigner::Ed25519)
                .map_err(|error| format!("ed25519 private key: {error}")),
            KeyScheme::Sm2 => sm2::dsa::SigningKey::from_slice(SM2_DISTINGUISHING_ID, secret)
                .map(AccountSigner::Sm2)
                .map_err(|_| "not a valid SM2 private key".to_string()),
            KeyScheme::Secp256k1 => k256::ecdsa::SigningKey::from_slice(secret)
                .map(AccountSigner::Secp256k1)
                .map_err(|_| "not a valid secp256k1 private key".to_string()),
        }
    }

    /// The 32 secret bytes. Keep them private.
    pub fn secret_bytes(&self) -> [u8; 32] {
        match self {
            AccountSigner::Ed25519(key) => key.encode().as_ref().try_into().expect("an ed25519 seed is 32 bytes"),
            AccountSigner::Sm2(key) => key.to_bytes().into(),
            AccountSigner::Secp256k1(key) => key.to_bytes().into(),
        }
    }

    pub fn scheme(&self) -> KeyScheme {
        match self {
            AccountSigner::Ed25519(_) => KeyScheme::Ed25519,
            AccountSigner::Sm2(_) => KeyScheme::Sm2,
            AccountSigner::Secp256k1(_) => KeyScheme::Secp256k1,
        }
    }

    /// The public key, as an account key.
    pub fn public_key(&self) -> AccountKey {
        match self {
            AccountSigner::Ed25519(key) => AccountKey::ed25519(&key.public_key()),
            AccountSigner::Sm2(key) => {
                let point = key.verifying_key().as_affine().to_sec1_point(true);
                AccountKey::new(KeyScheme::Sm2, point.as_bytes()).expect("a compressed SM2 point is 33 bytes")
            }
            AccountSigner::Secp256k1(key) => {
                let point = key.verifying_key().to_sec1_point(true);
                AccountKey::new(KeyScheme::Secp256k1, point.as_bytes())
                    .expect("a compressed secp256k1 point is 33 bytes")
            }
        }
    }

    /// The id of the account this key creates.
    pub fn account_id(&self) -> AccountId {
        self.public_key().account_id()
    }

    /// Signs a transaction body.
    pub fn sign(&self, body: &TransactionBody) -> TransactionSignature {
        let signature = match self {
            AccountSigner::Ed25519(key) => {
                key.sign(TRANSACTION_NAMESPACE, &body.encode()).as_ref().try_into().expect("64-byte signature")
            }
            AccountSigner::Sm2(key) => {
                let signature: sm2::dsa::Signature = signature::Signer::sign(key, &body.signing_message());
                signature.to_bytes().into()
            }
            AccountSigner::Secp256k1(key) => {
                let signature: k256::ecdsa::Signature = signature::Signer::sign(key, &body.signing_message());
                signature.to_bytes().into()
            }
        };
        TransactionSignature { public_key: self.public_key(), signature: AccountSignature(signature) }
    }
}

/// Signs `body` with each of `signers`.
pub fn sign_transaction(body: TransactionBody, signers: &[&AccountSigner]) -> Transaction {
    let signatures = signers.iter().map(|signer| signer.sign(&body)).collect();
    Transaction { body, signatures }
}

fn verify_ecdsa(entry: &TransactionSignature, message: &[u8]) -> bool {
    match entry.public_key.scheme() {
        KeyScheme::Ed25519 => false,
        KeyScheme::Sm2 => {
            let Ok(key) = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTINGUISHING_ID, entry.public_key.key_bytes())
            else {
                return false;
            };
            let Ok(signature) = sm2::dsa::Signature::from_slice(&entry.signature.0) else {
                return false;
            };
            signature::Verifier::verify(&key, message, &signature).is_ok()
        }
        KeyScheme::Secp256k1 => {
            let Ok(key) = k256::ecdsa::VerifyingKey::from_sec1_bytes(entry.public_key.key_bytes()) else {
                return false;
            };
            let Ok(signature) = k256::ecdsa::Signature::from_slice(&entry.signature.0) else {
                return false;
            };
            signature::Verifier::verify(&key, message, &signature).is_ok()
        }
    }
}

fn ed25519_parts(entry: &TransactionSignature) -> Option<(ed25519::PublicKey, ed25519::Signature)> {
    if entry.public_key.scheme() != KeyScheme::Ed25519 {
        return None;
    }
    let key = keys::KeyCache::key(&keys::KEYS, entry.public_key.key_bytes())?;
    let signature = ed25519::Signature::decode(bytes::Bytes::copy_from_slice(&entry.signature.0)).ok()?;
    Some((key, signature))
}

/// Checks each signature of `transaction` on its own. [`verify_batch`] accepts exactly the same
/// transactions (tested).
pub fn verify_individually(transaction: &Transaction) -> bool {
    if transaction.signatures.is_empty() {
        return false;
    }
    let body = transaction.body.encode();
    let framed = transaction.body.signing_message();
    transaction.signatures.iter().all(|entry| match entry.public_key.scheme() {
        KeyScheme::Ed25519 => {
            ed25519_parts(entry).is_some_and(|(key, signature)| key.verify(TRANSACTION_NAMESPACE, &body, &signature))
        }
        KeyScheme::Sm2 | KeyScheme::Secp256k1 => verify_ecdsa(entry, &framed),
    })
}

/// The decoded ed25519 signatures of one transaction, or `None` if any signature is malformed or
/// an SM2/secp256k1 signature is invalid (those are checked here, one by one).
struct Prepared {
    body: bytes::Bytes,
    ed25519: Vec<(ed25519::PublicKey, ed25519::Signature)>,
}

fn prepare(transaction: &Transaction) -> Option<Prepared> {
    if transaction.signatures.is_empty() {
        return None;
    }
    let body = transaction.body.encode();
    let mut framed = None;
    let mut ed25519 = Vec::new();
    for entry in &transaction.signatures {
        match entry.public_key.scheme() {
            KeyScheme::Ed25519 => ed25519.push(ed25519_parts(entry)?),
            KeyScheme::Sm2 | KeyScheme::Secp256k1 => {
                let message = framed.get_or_insert_with(|| transaction.body.signing_message());
                if !verify_ecdsa(entry, message) {
                    return None;
                }
            }
        }
    }
    Some(Prepared { body, ed25519 })
}

/// Verifies every signature of every transaction. Returns, for each transaction, whether all of
/// its signatures are valid.
///
/// SM2 and secp256k1 signatures are checked one by one. The Ed25519 signatures of all remaining
/// transactions cost one batch verification in the common case (all valid); a failed batch is
/// split in halves recursively, so `k` bad transactions among `n` cost about `2k log n` smaller
/// batches.
pub fn verify_batch<R: CryptoRng>(rng: &mut R, transactions: &[&Transaction]) -> Vec<bool> {
    let prepared: Vec<Option<Prepared>> = transactions.iter().map(|transaction| prepare(transaction)).collect();
    let mut valid: Vec<bool> = prepared.iter().map(Option::is_some).collect();
    let candidates: Vec<(usize, &Prepared)> =
        prepared.iter().enumerate().filter_map(|(index, prepared)| prepared.as_ref().map(|p| (index, p))).collect();
    bisect(rng, &candidates, &mut valid);
    valid
}

fn bisect<R: CryptoRng>(rng: &mut R, candidates: &[(usize, &Prepared)], valid: &mut [bool]) {
    if candidates.is_empty() || batch_ok(rng, candidates) {
        return;
    }
    if candidates.len() == 1 {
        valid[candidates[0].0] = false;
        return;
    }
    let (left, right) = candidates.split_at(candidates.len() / 2);
    bisect(rng, left, valid);
    bisect(rng, right, valid);
}

fn batch_ok<R: CryptoRng>(rng: &mut R, candidates: &[(usize, &Prepared)]) -> bool {
    let entries: Vec<(&bytes::Bytes, &ed25519::PublicKey, &ed25519::Signature)> = candidates
        .iter()
        .flat_map(|(_, prepared)| prepared.ed25519.iter().map(move |(key, signature)| (&prepared.body, key, signature)))
        .collect();
    if entries.is_empty() {
        return true;
    }
    ed25519::PublicKey::verify_batch(
        rng,
        &entries,
        |_, (message, public_key, signature)| BatchEntry {
            namespace: TRANSACTION_NAMESPACE,
            message: message.as_ref(),
            public_key,
            signature,
        },
        &Sequential,
    )
}

/// A key file: a key pair of any scheme and the account id it creates, as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyFile {
    /// The key's scheme (files written before schemes existed are ed25519).
    #[serde(default = "ed25519_scheme")]
    pub scheme: KeyScheme,
    pub account_id: AccountId,
    /// The public key: `0x` hex for ed25519, `scheme:0xhex` otherwise.
    pub public_key: String,
    /// `0x` hex of the 32 secret bytes. Keep this file private.
    pub private_key: String,
}

fn ed25519_scheme() -> KeyScheme {
    KeyScheme::Ed25519
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
    /// Generates a fresh ed25519 key from `rng`.
    pub fn generate<R: CryptoRng>(rng: &mut R) -> (Self, ed25519::PrivateKey) {
        let AccountSigner::Ed25519(key) = AccountSigner::generate(KeyScheme::Ed25519, rng) else {
            unreachable!("an ed25519 signer was asked for")
        };
        (Self::from_private_key(&key), key)
    }

    /// The key file for an existing ed25519 key.
    pub fn from_private_key(key: &ed25519::PrivateKey) -> Self {
        Self::from_signer(&AccountSigner::Ed25519(key.clone()))
    }

    /// The key file for a key of any scheme.
    pub fn from_signer(signer: &AccountSigner) -> Self {
        let public_key = signer.public_key();
        let public_text = match signer {
            AccountSigner::Ed25519(key) => public_key_to_hex(&key.public_key()),
            _ => public_key.to_string(),
        };
        Self {
            scheme: signer.scheme(),
            account_id: public_key.account_id(),
            public_key: public_text,
            private_key: format!("0x{}", hex::encode(signer.secret_bytes())),
        }
    }

    /// Parses the private key and checks that the public key and account id match it.
    pub fn signer(&self) -> Result<AccountSigner, String> {
        let text = self.private_key.strip_prefix("0x").unwrap_or(&self.private_key);
        let bytes = hex::decode(text).map_err(|error| format!("private_key is not hex: {error}"))?;
        let signer = AccountSigner::from_secret_bytes(self.scheme, &bytes)?;
        let expected = Self::from_signer(&signer);
        if expected.public_key != self.public_key {
            return Err("public_key does not match private_key".into());
        }
        if expected.account_id != self.account_id {
            return Err("account_id does not match the key".into());
        }
        Ok(signer)
    }

    /// Parses an ed25519 private key (see [`KeyFile::signer`] for any scheme).
    pub fn private_key(&self) -> Result<ed25519::PrivateKey, String> {
        match self.signer()? {
            AccountSigner::Ed25519(key) => Ok(key),
            other => Err(format!("the key is {}, not ed25519", other.scheme())),
        }
    }

    fn read_file(path: &Path) -> Result<Self, KeyFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io { path: shown.clone(), source })?;
        serde_json::from_str(&text).map_err(|source| KeyFileError::Json { path: shown, source })
    }

    /// Reads and checks an ed25519 key file (validator keys, the development account).
    pub fn read(path: &Path) -> Result<(Self, ed25519::PrivateKey), KeyFileError> {
        let file = Self::read_file(path)?;
        let key =
            file.private_key().map_err(|reason| KeyFileError::Invalid { path: path.display().to_string(), reason })?;
        Ok((file, key))
    }

    /// Reads and checks a key file of any scheme.
    pub fn read_signer(path: &Path) -> Result<(Self, AccountSigner), KeyFileError> {
        let file = Self::read_file(path)?;
        let signer =
            file.signer().map_err(|reason| KeyFileError::Invalid { path: path.display().to_string(), reason })?;
        Ok((file, signer))
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
    use std::collections::BTreeSet;

    fn body(sender: AccountId, nonce: u64, payload: Payload) -> TransactionBody {
        TransactionBody {
            chain_id: ChainId(7),
            sender,
            nonce: Nonce(nonce),
            expiry_height: Height(10),
            fee_limit: Amount(1),
            payload,
        }
    }

    fn transfer_body(sender: AccountId, nonce: u64) -> TransactionBody {
        body(sender, nonce, Payload::Transfer { to: AccountId([1; 32]), amount: Amount(3) })
    }

    fn signer(scheme: KeyScheme, seed: u64) -> AccountSigner {
        AccountSigner::from_seed(scheme, seed)
    }

    #[test]
    fn every_scheme_signs_and_verifies_and_rejects_tampering() {
        for scheme in KeyScheme::ALL {
            let key = signer(scheme, 1);
            assert!(validate_key(&key.public_key()), "{scheme}");
            let transaction = sign_transaction(transfer_body(key.account_id(), 0), &[&key]);
            assert!(verify_individually(&transaction), "{scheme} signature verifies");

            let mut altered = transaction.clone();
            altered.body.nonce = Nonce(1);
            assert!(!verify_individually(&altered), "{scheme}: a changed body fails");

            let mut other_chain = transaction.clone();
            other_chain.body.chain_id = ChainId(8);
            assert!(!verify_individually(&other_chain), "{scheme}: a signature is bound to the chain id");

            let mut wrong_key = transaction.clone();
            wrong_key.signatures[0].public_key = signer(scheme, 2).public_key();
            assert!(!verify_individually(&wrong_key), "{scheme}: another key's claim fails");

            let mut flipped = transaction;
            flipped.signatures[0].signature.0[63] ^= 1;
            assert!(!verify_individually(&flipped), "{scheme}: a flipped bit fails");
        }
    }

    #[test]
    fn schemes_derive_distinct_account_ids_and_ed25519_ids_are_unchanged() {
        let ed = ed25519::PrivateKey::from_seed(5);
        assert_eq!(AccountSigner::Ed25519(ed.clone()).account_id(), AccountId::from_public_key(&ed.public_key()));
        let ids: BTreeSet<AccountId> =
            KeyScheme::ALL.into_iter().map(|scheme| signer(scheme, 5).account_id()).collect();
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn secp256k1_high_s_signatures_are_rejected() {
        let key = signer(KeyScheme::Secp256k1, 3);
        let transaction = sign_transaction(transfer_body(key.account_id(), 0), &[&key]);
        let signature = k256::ecdsa::Signature::from_slice(&transaction.signatures[0].signature.0).expect("valid");
        assert!(signature.normalize_s() == signature, "k256 signs low-S");
        // (r, n - s) verifies mathematically; Formica must still refuse it (malleability).
        let (r, s) = signature.split_scalars();
        let high = k256::ecdsa::Signature::from_scalars(r, -*s).expect("valid scalars");
        let mut malleated = transaction;
        malleated.signatures[0].signature = AccountSignature(high.to_bytes().into());
        assert!(!verify_individually(&malleated));
    }

    #[test]
    fn invalid_points_are_not_valid_keys() {
        // x = 2^256 - 1 is not a field element of either curve.
        let mut bytes = [0xffu8; 33];
        bytes[0] = 2;
        for scheme in [KeyScheme::Sm2, KeyScheme::Secp256k1] {
            let key = AccountKey::new(scheme, &bytes).expect("shape is fine");
            assert!(!validate_key(&key), "{scheme}");
        }
    }

    #[test]
    fn batch_agrees_with_individual_verification_across_schemes() {
        let mut rng = commonware_utils::test_rng();
        let mut transactions: Vec<Transaction> = (0..45u64)
            .map(|n| {
                let scheme = KeyScheme::ALL[(n % 3) as usize];
                let first = signer(scheme, n);
                let second = signer(KeyScheme::ALL[((n + 1) % 3) as usize], n + 1000);
                let signers: Vec<&AccountSigner> = if n % 4 == 0 { vec![&first, &second] } else { vec![&first] };
                sign_transaction(transfer_body(first.account_id(), n), &signers)
            })
            .collect();
        let bad = [3usize, 4, 17, 20, 44];
        for index in bad {
            transactions[index].body.nonce = Nonce(999);
        }
        let mut no_signature = transactions[10].clone();
        no_signature.signatures.clear();
        transactions.push(no_signature);
        let references: Vec<&Transaction> = transactions.iter().collect();
        let valid = verify_batch(&mut rng, &references);
        for (index, ok) in valid.iter().enumerate() {
            let expected = !bad.contains(&index) && index != 45;
            assert_eq!(*ok, expected, "transaction {index}");
            assert_eq!(*ok, verify_individually(&transactions[index]), "batch and single agree at {index}");
        }
    }

    #[test]
    fn empty_batch_is_trivially_valid() {
        assert!(verify_batch(&mut commonware_utils::test_rng(), &[]).is_empty());
    }

    fn key_set(signers: &[(&AccountSigner, u16)], threshold: u16, recovery: Option<&AccountSigner>) -> KeySet {
        KeySet {
            keys: signers
                .iter()
                .map(|(signer, weight)| KeyEntry { key: signer.public_key(), weight: *weight })
                .collect(),
            threshold,
            recovery: recovery.map(AccountSigner::public_key),
        }
    }

    #[test]
    fn weighted_signatures_must_reach_the_threshold() {
        let ed = signer(KeyScheme::Ed25519, 1);
        let sm = signer(KeyScheme::Sm2, 2);
        let k1 = signer(KeyScheme::Secp256k1, 3);
        let stranger = signer(KeyScheme::Ed25519, 4);
        let keys = key_set(&[(&ed, 1), (&sm, 2), (&k1, 2)], 3, None);
        let sender = ed.account_id();
        let signed = |signers: &[&AccountSigner]| sign_transaction(transfer_body(sender, 0), signers);

        assert_eq!(authorise(&keys, &signed(&[&ed, &sm])), Ok(Authority::Keys));
        assert_eq!(authorise(&keys, &signed(&[&sm, &k1])), Ok(Authority::Keys));
        assert_eq!(authorise(&keys, &signed(&[&ed, &sm, &k1])), Ok(Authority::Keys));
        assert_eq!(authorise(&keys, &signed(&[&sm])), Err(AuthorisationError::InsufficientWeight { have: 2, need: 3 }));
        assert_eq!(authorise(&keys, &signed(&[&ed])), Err(AuthorisationError::InsufficientWeight { have: 1, need: 3 }));
        assert_eq!(authorise(&keys, &signed(&[&ed, &sm, &stranger])), Err(AuthorisationError::UnknownKey));
        let mut twice = signed(&[&sm]);
        twice.signatures.push(twice.signatures[0].clone());
        assert_eq!(authorise(&keys, &twice), Err(AuthorisationError::DuplicateKey));
        assert_eq!(authorise(&keys, &signed(&[])), Err(AuthorisationError::MissingSignature));
    }

    #[test]
    fn recovery_key_signs_alone_and_only_recovery_actions() {
        let owner = signer(KeyScheme::Ed25519, 1);
        let rescue = signer(KeyScheme::Sm2, 2);
        let fresh = signer(KeyScheme::Secp256k1, 3);
        let keys = key_set(&[(&owner, 1)], 1, Some(&rescue));
        let sender = owner.account_id();
        let start = body(sender, 0, Payload::StartRecovery { new_key: fresh.public_key() });

        assert_eq!(authorise(&keys, &sign_transaction(start.clone(), &[&rescue])), Ok(Authority::Recovery));
        assert_eq!(
            authorise(&keys, &sign_transaction(body(sender, 0, Payload::CompleteRecovery), &[&rescue])),
            Ok(Authority::Recovery)
        );
        assert_eq!(
            authorise(&keys, &sign_transaction(transfer_body(sender, 0), &[&rescue])),
            Err(AuthorisationError::RecoveryKeyNotAllowed)
        );
        assert_eq!(
            authorise(&keys, &sign_transaction(start.clone(), &[&rescue, &owner])),
            Err(AuthorisationError::RecoveryKeyNotAlone)
        );
        assert_eq!(
            authorise(&keys, &sign_transaction(start.clone(), &[&owner])),
            Err(AuthorisationError::RecoveryNeedsRecoveryKey)
        );
        // Cancelling is for the current keys, not the recovery key.
        let cancel = body(sender, 0, Payload::CancelRecovery);
        assert_eq!(authorise(&keys, &sign_transaction(cancel.clone(), &[&owner])), Ok(Authority::Keys));
        assert_eq!(
            authorise(&keys, &sign_transaction(cancel, &[&rescue])),
            Err(AuthorisationError::RecoveryKeyNotAllowed)
        );
        // Without a recovery key, nobody can start a recovery.
        let plain = key_set(&[(&owner, 1)], 1, None);
        assert_eq!(
            authorise(&plain, &sign_transaction(start, &[&rescue])),
            Err(AuthorisationError::RecoveryNeedsRecoveryKey)
        );
    }

    #[test]
    fn key_files_round_trip_for_every_scheme_and_detect_tampering() {
        let directory = std::env::temp_dir().join(format!("formica-key-{}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("temp dir");
        for scheme in KeyScheme::ALL {
            let key = AccountSigner::generate(scheme, &mut commonware_utils::test_rng());
            let file = KeyFile::from_signer(&key);
            assert_eq!(file.scheme, scheme);
            assert_eq!(file.signer().expect("valid").public_key(), key.public_key());
            let mut tampered = file.clone();
            tampered.account_id = AccountId([0; 32]);
            assert!(tampered.signer().is_err(), "{scheme}: account id tampering is found");
            let mut swapped = file.clone();
            swapped.public_key = signer(scheme, 9).public_key().to_string();
            assert!(swapped.signer().is_err(), "{scheme}: public key tampering is found");
            let path = directory.join(format!("{scheme}.json"));
            file.write(&path).expect("writes");
            let (read, read_key) = KeyFile::read_signer(&path).expect("reads");
            assert_eq!(read, file);
            assert_eq!(read_key.public_key(), key.public_key());
            assert_eq!(KeyFile::read(&path).is_ok(), scheme == KeyScheme::Ed25519, "{scheme}: ed25519-only reader");
        }
        std::fs::remove_dir_all(&directory).ok();
    }

    #[test]
    fn key_files_without_a_scheme_are_ed25519() {
        let (file, key) = KeyFile::generate(&mut commonware_utils::test_rng());
        let mut value = serde_json::to_value(&file).expect("serialises");
        value.as_object_mut().expect("object").remove("scheme");
        let old: KeyFile = serde_json::from_value(value).expect("reads without scheme");
        assert_eq!(old.private_key().expect("valid").public_key(), key.public_key());
    }
}
