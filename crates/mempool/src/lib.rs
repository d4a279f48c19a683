//! formica-mempool
