use dbwarden::Table;

#[derive(Table)]
pub struct User {
    #[dbwarden(primary_kee)]
    pub id: i64,
}

fn main() {}
