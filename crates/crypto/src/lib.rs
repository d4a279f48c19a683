//! formica-crypto
