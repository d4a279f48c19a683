//! formica-state
