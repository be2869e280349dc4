//! Runs exercise 06's spec against this crate. The spec itself is shared with
//! the solution and lives at the workspace root: tests/06-redis/spec.rs.
extern crate ex06_redis_solution as redis_chat;

#[path = "../../../tests/06-redis/spec.rs"]
mod spec;
