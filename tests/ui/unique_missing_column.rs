use dbwarden::Table;

#[derive(Table)]
#[dbwarden(unique(name = "uq_users_email", columns("email")))]
pub struct User {
    #[dbwarden(primary_key)]
    pub id: i64,
    #[dbwarden(column = "email_address")]
    pub email: String,
}

fn main() {}
