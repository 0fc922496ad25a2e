use dbwarden::Table;

#[derive(Table)]
pub struct User {
    #[dbwarden(primary_key)]
    pub id: i64,
    pub email: String,
    #[dbwarden(column = "email")]
    pub email_address: String,
}

fn main() {}
