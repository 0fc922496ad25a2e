// A type named like one dbwarden maps, but not that type: an error at the field, not a UUID column.
use dbwarden::Table;

pub struct Uuid(pub [u8; 16]);

#[derive(Table)]
pub struct Account {
    #[dbwarden(primary_key)]
    pub id: Uuid,
    pub name: String,
}

fn main() {}
