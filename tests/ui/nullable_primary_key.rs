use dbwarden::Table;

#[derive(Table)]
pub struct User {
    #[dbwarden(primary_key)]
    pub id: Option<i64>,
}

fn main() {}
