use dbwarden::Table;

#[derive(Table)]
pub struct Post {
    #[dbwarden(primary_key)]
    pub id: i64,
    #[dbwarden(collation = "C")]
    pub views: i32,
}

fn main() {}
