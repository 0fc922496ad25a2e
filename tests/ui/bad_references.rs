use dbwarden::Table;

#[derive(Table)]
pub struct Post {
    #[dbwarden(primary_key)]
    pub id: i64,
    #[dbwarden(references = "users")]
    pub user_id: i64,
}

fn main() {}
