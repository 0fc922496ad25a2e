use dbwarden::Table;

#[derive(Table)]
pub struct Post {
    #[dbwarden(primary_key)]
    pub id: i64,
    #[dbwarden(on_delete = "cascade")]
    pub user_id: i64,
}

fn main() {}
