//! formica-consensus
