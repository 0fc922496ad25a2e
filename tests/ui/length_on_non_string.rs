use dbwarden::Table;

#[derive(Table)]
pub struct Post {
    #[dbwarden(primary_key, length = 20)]
    pub id: i64,
}

fn main() {}
