//! Random schemas for property tests (dbwarden's own and the runtime crate's, which enables the `proptest`
//! feature): the diff's round trip here, real databases converging there.

use proptest::prelude::*;

use super::{Column, ColumnType, FkAction, ForeignKey, Index, PrimaryKey, Schema, Table};

fn col(name: &str, ty: ColumnType, nullable: bool) -> Column {
    Column::new(name, ty, nullable)
}

/// A default every server accepts for the type.
fn default_for(ty: &ColumnType) -> String {
    match ty {
        ColumnType::Text | ColumnType::Varchar(_) => "'x'".into(),
        ColumnType::Boolean => "FALSE".into(),
        _ => "0".into(),
    }
}

/// A universe of 3 tables x 4 columns; a schema picks a subset with random types, nullability, indexes and
/// foreign keys. Columns keep the universe's order (column reordering is not a change dbwarden makes).
pub fn schemas() -> impl Strategy<Value = Schema> {
    let types = prop_oneof![
        Just(ColumnType::BigInt),
        Just(ColumnType::Text),
        Just(ColumnType::Varchar(50)),
        Just(ColumnType::Boolean),
        Just(ColumnType::Decimal(10, 2)),
    ];
    let column = (any::<bool>(), types, any::<bool>(), any::<bool>());
    let table = (proptest::collection::vec(column, 4), any::<bool>(), any::<bool>(), 0usize..3, any::<bool>());
    proptest::collection::vec((any::<bool>(), table), 3).prop_map(|tables| {
        let names = ["a", "b", "c"];
        let present: Vec<&str> = tables.iter().zip(names).filter(|((keep, _), _)| *keep).map(|(_, n)| n).collect();
        let mut out = Vec::new();
        for ((keep, (cols, index, unique, fk_to, comment)), name) in tables.into_iter().zip(names) {
            if !keep {
                continue;
            }
            let mut columns = vec![col("id", ColumnType::BigInt, false)];
            for (i, (keep_col, ty, nullable, default)) in cols.into_iter().enumerate() {
                if keep_col {
                    columns.push(Column {
                        default: default.then(|| default_for(&ty)),
                        ..col(&format!("c{i}"), ty, nullable)
                    });
                }
            }
            let second = columns.get(1).map(|c| c.name.clone());
            let mut t = Table {
                name: name.into(),
                primary_key: Some(PrimaryKey { columns: vec!["id".into()] }),
                comment: comment.then(|| format!("table {name}")),
                ..Default::default()
            };
            if let Some(c) = &second {
                if index {
                    t.indexes.push(Index {
                        name: crate::schema::index_name(name, &[c]),
                        columns: vec![c.clone()],
                        unique,
                    });
                }
            }
            let target = names[fk_to];
            if present.contains(&target) && target != name {
                t.foreign_keys.push(ForeignKey {
                    name: crate::schema::fk_name(name, &["id"], target),
                    columns: vec!["id".into()],
                    ref_table: target.into(),
                    ref_columns: vec!["id".into()],
                    on_delete: FkAction::Cascade,
                    on_update: FkAction::NoAction,
                });
            }
            t.columns = columns;
            out.push(t);
        }
        let mut s = Schema { tables: out };
        s.normalize();
        s
    })
}
