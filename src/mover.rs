//! Typed copies of a subtree's rows between two databases, for moves between shards:
//! each entity that derives `Tenancy` registers a [`TableMover`] built from its own
//! `Model`, so that values keep their types on every backend.

use std::future::Future;
use std::pin::Pin;

use sea_orm::{DatabaseConnection, DbErr};

use crate::DataKey;

/// A boxed future of a mover's step.
pub type MoveFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DbErr>> + Send + 'a>>;

/// The rows of one table in a subtree: how many, and a digest of their values in
/// primary-key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// The number of rows.
    pub rows: u64,
    /// A hash of every value of every row, in primary-key order.
    pub checksum: u64,
}

/// Copies and digests one table's rows of a subtree. Implemented for every entity that
/// derives `Tenancy`; not for tables added to a registry by hand.
pub trait TableMover: Send + Sync {
    /// Copies up to `limit` rows of `key`'s subtree (DataKey in `column`), after the
    /// first `offset` in primary-key order, from `from` to `to`; returns how many.
    fn copy_page<'a>(
        &'a self,
        from: &'a DatabaseConnection,
        to: &'a DatabaseConnection,
        column: &'a str,
        key: &'a DataKey,
        offset: u64,
        limit: u64,
    ) -> MoveFuture<'a, u64>;

    /// After the copy into `to`: moves PostgreSQL's sequences of auto-increment keys
    /// past the copied values, so that the next insert there does not reuse one (other
    /// backends follow explicit values by themselves).
    fn after_copy<'a>(&'a self, to: &'a DatabaseConnection) -> MoveFuture<'a, ()>;

    /// The subtree's rows in `db`, digested.
    fn digest<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        column: &'a str,
        key: &'a DataKey,
    ) -> MoveFuture<'a, Digest>;
}

/// What the derive registers: a function that makes the entity's mover.
pub type MoverFn = fn() -> Option<Box<dyn TableMover>>;

/// The mover of `M`'s entity (feature `sharding`; `None` without it).
#[doc(hidden)]
pub fn mover_of<M>() -> Option<Box<dyn TableMover>>
where
    M: sea_orm::ModelTrait
        + sea_orm::IntoActiveModel<<M::Entity as sea_orm::EntityTrait>::ActiveModel>
        + sea_orm::FromQueryResult
        + Send
        + Sync
        + 'static,
    <M::Entity as sea_orm::EntityTrait>::ActiveModel:
        sea_orm::ActiveModelTrait<Entity = M::Entity> + Send + Sync + 'static,
    M::Entity: Send + Sync + 'static,
{
    #[cfg(feature = "sharding")]
    {
        Some(Box::new(typed::Mover::<M>(std::marker::PhantomData)))
    }
    #[cfg(not(feature = "sharding"))]
    {
        None
    }
}

#[cfg(feature = "sharding")]
mod typed {
    use std::hash::{DefaultHasher, Hash, Hasher};
    use std::marker::PhantomData;

    use sea_orm::{
        ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityName, EntityTrait, IdenStatic,
        IntoActiveModel, Iterable, ModelTrait, PrimaryKeyToColumn,
    };

    use super::{Digest, MoveFuture, TableMover};
    use crate::DataKey;
    use crate::rewrite::subtree::{self, KeyedTable};

    pub(super) struct Mover<M>(pub(super) PhantomData<fn() -> M>);

    /// One page of the subtree's rows, in primary-key order.
    async fn page<M>(
        db: &DatabaseConnection,
        column: &str,
        key: &DataKey,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<M>, sea_orm::DbErr>
    where
        M: ModelTrait + sea_orm::FromQueryResult + Send + Sync,
    {
        let entity = <M::Entity as Default>::default();
        let schema = entity.schema_name().map(str::to_owned);
        let table = entity.table_name().to_owned();
        let order: Vec<String> = <<M::Entity as EntityTrait>::PrimaryKey as Iterable>::iter()
            .map(|pk| pk.into_column().as_str().to_owned())
            .collect();
        let t = KeyedTable {
            schema: schema.as_deref(),
            table: &table,
            column,
        };
        let stmt = subtree::page(db.get_database_backend(), t, &order, key, offset, limit);
        let rows = db.query_all_raw(stmt).await?;
        rows.iter()
            .map(|r| <M as sea_orm::FromQueryResult>::from_query_result(r, ""))
            .collect()
    }

    impl<M> TableMover for Mover<M>
    where
        M: ModelTrait
            + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>
            + sea_orm::FromQueryResult
            + Send
            + Sync
            + 'static,
        <M::Entity as EntityTrait>::ActiveModel:
            ActiveModelTrait<Entity = M::Entity> + Send + Sync + 'static,
        M::Entity: Send + Sync + 'static,
    {
        fn copy_page<'a>(
            &'a self,
            from: &'a DatabaseConnection,
            to: &'a DatabaseConnection,
            column: &'a str,
            key: &'a DataKey,
            offset: u64,
            limit: u64,
        ) -> MoveFuture<'a, u64> {
            Box::pin(async move {
                let rows: Vec<M> = page(from, column, key, offset, limit).await?;
                let n = rows.len() as u64;
                if n > 0 {
                    <M::Entity as EntityTrait>::insert_many(
                        rows.into_iter().map(IntoActiveModel::into_active_model),
                    )
                    .exec_without_returning(to)
                    .await?;
                }
                Ok(n)
            })
        }

        fn after_copy<'a>(&'a self, to: &'a DatabaseConnection) -> MoveFuture<'a, ()> {
            Box::pin(async move {
                use sea_orm::PrimaryKeyTrait;
                if to.get_database_backend() != sea_orm::DbBackend::Postgres
                    || !<<M::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::auto_increment(
                    )
                {
                    return Ok(());
                }
                let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
                let (table, columns) = {
                    let entity = <M::Entity as Default>::default();
                    let table = match entity.schema_name() {
                        Some(schema) => {
                            format!("{}.{}", quote(schema), quote(entity.table_name()))
                        }
                        None => quote(entity.table_name()),
                    };
                    let columns: Vec<String> =
                        <<M::Entity as EntityTrait>::PrimaryKey as Iterable>::iter()
                            .map(|pk| pk.into_column().as_str().to_owned())
                            .collect();
                    (table, columns)
                };
                for column in columns {
                    let sql = format!(
                        "SELECT setval(s, GREATEST((SELECT COALESCE(MAX({c}), 0) FROM {table}), nextval(s))) \
                         FROM (SELECT pg_get_serial_sequence($1, $2) AS s) AS q WHERE s IS NOT NULL",
                        c = quote(&column),
                    );
                    to.execute_raw(sea_orm::Statement::from_sql_and_values(
                        sea_orm::DbBackend::Postgres,
                        sql,
                        [table.clone().into(), column.into()],
                    ))
                    .await?;
                }
                Ok(())
            })
        }

        fn digest<'a>(
            &'a self,
            db: &'a DatabaseConnection,
            column: &'a str,
            key: &'a DataKey,
        ) -> MoveFuture<'a, Digest> {
            Box::pin(async move {
                const PAGE: u64 = 1000;
                let mut hasher = DefaultHasher::new();
                let mut rows = 0u64;
                loop {
                    let batch: Vec<M> = page(db, column, key, rows, PAGE).await?;
                    for model in &batch {
                        for c in <<M::Entity as EntityTrait>::Column as Iterable>::iter() {
                            format!("{:?}", model.get(c)).hash(&mut hasher);
                        }
                    }
                    rows += batch.len() as u64;
                    if (batch.len() as u64) < PAGE {
                        break;
                    }
                }
                Ok(Digest {
                    rows,
                    checksum: hasher.finish(),
                })
            })
        }
    }
}
