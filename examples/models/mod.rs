//! The example's models (SPEC §2): the source of truth. `cargo run --example generate` diffs them against the
//! database (or the committed snapshot) and writes the next migration into examples/migrations/primary/.
#![allow(dead_code)]

use dbwarden::Table;

#[derive(Table)]
#[dbwarden(name = "users", comment = "Core user accounts")]
pub struct User {
    #[dbwarden(primary_key)] // integer PK => auto-increment on each backend
    pub id: i64,
    #[dbwarden(length = 255, unique)]
    pub email: String, // String => TEXT, or VARCHAR(n) with length
    pub bio: Option<String>, // Option<T> => nullable
}

#[derive(Table)]
#[dbwarden(name = "posts", index(name = "ix_posts_created_at", columns("created_at")))]
pub struct Post {
    #[dbwarden(primary_key)]
    pub id: i64,
    #[dbwarden(length = 255)]
    pub title: String,
    pub body: String,
    #[dbwarden(references = "users.id", on_delete = "cascade")]
    pub user_id: i64,
    pub created_at: chrono::NaiveDateTime,
}
