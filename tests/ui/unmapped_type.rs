use dbwarden::Table;

#[derive(Table)]
pub struct Counter {
    #[dbwarden(primary_key)]
    pub id: i64,
    pub hits: Option<u64>,
}

fn main() {}
