//! formica-rpc
