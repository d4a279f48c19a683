//! Who may use the API: everyone, or member organisations only.
//!
//! The policy is a chain parameter (`api_members_only` in the governance record, set at genesis
//! and changed by vote), so every node of a chain applies the same one. When it is on, each call
//! except `formica_health` and `formica_status` (which monitors and clients need to find the chain)
//! must carry `Authorization: Bearer <token>` on its HTTP request or WebSocket handshake.
//!
//! A token ([`AccessToken`]) is made by the holder of one signing key of an admin account of a
//! member organisation (`formica token`): it names the chain, the account and an expiry at most
//! [`TOKEN_LIFETIME_MAX_MS`] ahead, and is signed under its own namespace
//! ([`formica_crypto::ACCESS_NAMESPACE`]), so it can never pass as a transaction or contract
//! signature. The server checks the signature, that the key is one of the account's keys, and that
//! the account is an admin of an active member; a token stops working when it expires or when the
//! key or the admin is removed (verdicts are cached for at most [`VERDICT_CACHE_MS`]).

use commonware_codec::{DecodeExt, Encode};
use formica_crypto::{AccountSigner, sign_access, verify_access};
use formica_types::{AccountId, AccountKey, ChainId};

/// The text form starts with this, then hex of the encoding.
pub const TOKEN_PREFIX: &str = "fmcat1";
/// The longest a token may be valid for.
pub const TOKEN_LIFETIME_MAX_MS: u64 = 24 * 60 * 60 * 1_000;
/// Clock difference tolerated between the token's maker and the node.
pub const CLOCK_SKEW_MS: u64 = 60 * 1_000;
/// How long the server trusts a verdict on a token (or the policy) before checking again.
pub const VERDICT_CACHE_MS: u64 = 10 * 1_000;
/// The longest text a server parses as a token.
pub const TOKEN_TEXT_MAX: usize = 512;
const SIGNATURE_BYTES: usize = 64;

/// A member's proof that it may use the API until `expires_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    pub chain_id: ChainId,
    /// The admin account of a member organisation.
    pub account: AccountId,
    /// Milliseconds since the Unix epoch.
    pub expires_ms: u64,
    /// One of the account's signing keys.
    pub key: AccountKey,
    pub signature: Vec<u8>,
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    #[error(
        "this chain limits the API to member organisations: send `Authorization: Bearer <token>` (make one with `formica token`)"
    )]
    Missing,
    #[error("the access token is malformed: {0}")]
    Malformed(String),
    #[error("the access token is for chain {got}, this chain is {expected}")]
    WrongChain { expected: ChainId, got: ChainId },
    #[error("the access token expired at {expires_ms} ms (now {now_ms})")]
    Expired { expires_ms: u64, now_ms: u64 },
    #[error("the access token is valid for longer than 24 hours")]
    TooLong,
    #[error("the access token's signature is invalid")]
    BadSignature,
    #[error("the token's key is not a signing key of {0}")]
    UnknownKey(AccountId),
    #[error("{0} is not an admin of a member organisation")]
    NotMember(AccountId),
}

impl AccessToken {
    /// Signs a token for `account` (which `signer` is a key of) valid until `expires_ms`.
    pub fn sign(signer: &AccountSigner, chain_id: ChainId, account: AccountId, expires_ms: u64) -> Self {
        let signature = sign_access(signer, &Self::message(chain_id, &account, expires_ms));
        Self { chain_id, account, expires_ms, key: signer.public_key(), signature }
    }

    fn message(chain_id: ChainId, account: &AccountId, expires_ms: u64) -> Vec<u8> {
        let mut message = chain_id.encode().to_vec();
        message.extend_from_slice(&account.0);
        message.extend_from_slice(&expires_ms.to_be_bytes());
        message
    }

    /// The token as header text: [`TOKEN_PREFIX`] and hex.
    pub fn to_text(&self) -> String {
        let mut bytes = Self::message(self.chain_id, &self.account, self.expires_ms);
        bytes.extend_from_slice(&self.signature);
        bytes.extend_from_slice(&self.key.encode());
        format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
    }

    /// Parses header text (a leading `Bearer ` is accepted). Checks only the shape.
    pub fn parse(text: &str) -> Result<Self, AccessDenied> {
        let malformed = |reason: &str| AccessDenied::Malformed(reason.into());
        let text = crate::server::bearer_credential(text);
        if text.len() > TOKEN_TEXT_MAX {
            return Err(malformed("too long"));
        }
        let hex_text = text.strip_prefix(TOKEN_PREFIX).ok_or_else(|| malformed("not a Formica access token"))?;
        let bytes = hex::decode(hex_text).map_err(|_| malformed("not hex"))?;
        let chain_size = ChainId(0).encode().len();
        let fixed = chain_size + 32 + 8 + SIGNATURE_BYTES;
        if bytes.len() <= fixed {
            return Err(malformed("too short"));
        }
        let chain_id =
            ChainId::decode(bytes::Bytes::copy_from_slice(&bytes[..chain_size])).map_err(|_| malformed("chain id"))?;
        let account = AccountId(bytes[chain_size..chain_size + 32].try_into().expect("32 bytes"));
        let expires_ms = u64::from_be_bytes(bytes[chain_size + 32..chain_size + 40].try_into().expect("8 bytes"));
        let signature = bytes[chain_size + 40..fixed].to_vec();
        let key = AccountKey::decode(bytes::Bytes::copy_from_slice(&bytes[fixed..])).map_err(|_| malformed("key"))?;
        Ok(Self { chain_id, account, expires_ms, key, signature })
    }

    /// Everything that needs no chain state: chain, expiry (against `now_ms`), signature.
    pub fn check(&self, chain_id: ChainId, now_ms: u64) -> Result<(), AccessDenied> {
        if self.chain_id != chain_id {
            return Err(AccessDenied::WrongChain { expected: chain_id, got: self.chain_id });
        }
        if self.expires_ms <= now_ms {
            return Err(AccessDenied::Expired { expires_ms: self.expires_ms, now_ms });
        }
        if self.expires_ms - now_ms > TOKEN_LIFETIME_MAX_MS + CLOCK_SKEW_MS {
            return Err(AccessDenied::TooLong);
        }
        if !verify_access(&self.key, &Self::message(self.chain_id, &self.account, self.expires_ms), &self.signature) {
            return Err(AccessDenied::BadSignature);
        }
        Ok(())
    }
}

/// Milliseconds since the Unix epoch (the RPC server is outside execution; it may read the clock).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use formica_types::KeyScheme;

    #[test]
    fn tokens_round_trip_and_check_chain_expiry_and_signature() {
        for scheme in KeyScheme::ALL {
            let signer = AccountSigner::from_seed(scheme, 3);
            let account = signer.account_id();
            let token = AccessToken::sign(&signer, ChainId(9), account, 10_000);
            let parsed = AccessToken::parse(&format!("Bearer {}", token.to_text())).expect("parses");
            assert_eq!(parsed, token);
            assert_eq!(parsed.check(ChainId(9), 5_000), Ok(()));
            assert!(matches!(parsed.check(ChainId(8), 5_000), Err(AccessDenied::WrongChain { .. })));
            assert!(matches!(parsed.check(ChainId(9), 10_000), Err(AccessDenied::Expired { .. })));
            let mut forged = parsed.clone();
            forged.expires_ms += 1;
            assert_eq!(forged.check(ChainId(9), 5_000), Err(AccessDenied::BadSignature));
            let mut other = parsed.clone();
            other.account = AccountId([1; 32]);
            assert_eq!(other.check(ChainId(9), 5_000), Err(AccessDenied::BadSignature));
        }
        let signer = AccountSigner::from_seed(KeyScheme::Ed25519, 4);
        let long = AccessToken::sign(&signer, ChainId(9), signer.account_id(), TOKEN_LIFETIME_MAX_MS * 2);
        assert_eq!(long.check(ChainId(9), 1), Err(AccessDenied::TooLong));
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        let signer = AccountSigner::from_seed(KeyScheme::Sm2, 5);
        let text = AccessToken::sign(&signer, ChainId(1), signer.account_id(), 99).to_text();
        for bad in [
            String::new(),
            "Bearer".into(),
            "fmcat1".into(),
            "fmcat1zz".into(),
            text[..text.len() - 2].to_string(),
            format!("{text}00"),
            "x".repeat(10_000),
            text.replace(TOKEN_PREFIX, "other1"),
        ] {
            assert!(matches!(AccessToken::parse(&bad), Err(AccessDenied::Malformed(_))), "{bad:?}");
        }
    }
}
