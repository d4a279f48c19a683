//! formica-node
