//! formica-client
