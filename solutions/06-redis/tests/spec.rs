//! Runs exercise 06's spec against this crate, and its known wrong
//! solutions against the spec. Both live at the workspace root, shared
//! with the starter, which runs the spec alone: tests/06-redis/.
extern crate ex06_redis_solution as redis_chat;

#[path = "../../../tests/06-redis/spec.rs"]
mod spec;
#[path = "../../../tests/06-redis/wrong_solutions.rs"]
mod wrong_solutions;
