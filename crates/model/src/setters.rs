//! `with_*` setters for the optional fields of the resources.
//!
//! The resources are `#[non_exhaustive]`, so code outside this crate cannot
//! write them as struct literals: it starts from `Default` (or a `new`) and
//! chains these setters, each of which sets its field to `Some(value)`.

/// Defines, for each `field: Type` pair, `with_field(value: impl Into<Type>)`
/// setting the `Option<Type>` field.
macro_rules! option_setters {
    ($ty:ident { $($setter:ident => $field:ident: $inner:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets `", stringify!($field), "` (see the field).")]
                #[must_use]
                pub fn $setter(mut self, value: impl Into<$inner>) -> Self {
                    self.$field = Some(value.into());
                    self
                }
            )*
        }
    };
}

pub(crate) use option_setters;
