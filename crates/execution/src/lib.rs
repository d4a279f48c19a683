//! formica-execution
