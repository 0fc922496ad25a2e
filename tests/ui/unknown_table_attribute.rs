use dbwarden::Table;

#[derive(Table)]
#[dbwarden(nmae = "users")]
pub struct User {
    #[dbwarden(primary_key)]
    pub id: i64,
}

fn main() {}
