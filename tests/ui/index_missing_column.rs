use dbwarden::Table;

#[derive(Table)]
#[dbwarden(index(columns("title", "created")))]
pub struct Post {
    #[dbwarden(primary_key)]
    pub id: i64,
    pub title: String,
    pub created_at: i64,
}

fn main() {}
