//! JSON request bodies, held to the shape `/openapi.json` gives them: an object.
//!
//! serde's derived `Deserialize` for a struct also accepts a JSON array of its fields in order
//! (`["a@example.com", "secret"]` reads as a login), which no client generated from the spec
//! sends and which lets a body the spec calls invalid succeed. [`Object`] admits only a JSON
//! object; [`Json`] reads a body as `web::Json` does (media type, size) with that rule, straight
//! from its bytes, and [`MaybeJson`] is the same for the one operation whose body may be left
//! out. Errors take the same path as every other body problem
//! (`problem::json_error`: 400 `malformed_json`, 413, 415; `problem::shape_error`: 400
//! `invalid_body` with the path of the field that does not fit in `errors[]`).

use std::{fmt, future::Future, marker::PhantomData, ops::Deref, pin::Pin};

use actix_web::{
    dev::Payload, error::JsonPayloadError, web, FromRequest, HttpMessage, HttpRequest,
};
use serde::{
    de::{value::MapAccessDeserializer, DeserializeOwned, MapAccess, Visitor},
    Deserialize, Deserializer,
};

use super::problem;

/// A `T` that was written as a JSON object (never as an array of its fields).
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        de.deserialize_map(ObjectVisitor(PhantomData)).map(Object)
    }
}

/// `deserialize_with` for a field holding a struct: only a JSON object reads as it (the same
/// rule as [`Object`], one level down).
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(de: D) -> Result<T, D::Error> {
    Object::deserialize(de).map(|o| o.0)
}

/// [`object`] for an optional struct (`null` or absent: `None`; pair it with `#[serde(default)]`).
pub fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    de: D,
) -> Result<Option<T>, D::Error> {
    Option::<Object<T>>::deserialize(de).map(|o| o.map(|o| o.0))
}

/// [`object`] for a list of structs.
pub fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(de: D) -> Result<Vec<T>, D::Error> {
    Vec::<Object<T>>::deserialize(de).map(|v| v.into_iter().map(|o| o.0).collect())
}

/// The body of a request, a JSON object read as `T` (see the module docs).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body read.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The media type as `web::Json` checks it; the size as the route's `PayloadConfig`
        // sets it (413 past it, from the declared length before anything is read).
        let req = req.clone();
        let reading = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            if !is_json(&req) {
                return Err(problem::json_error(JsonPayloadError::ContentType, &req));
            }
            let bytes = reading.await?;
            from_slice(&bytes, &req).map(Json)
        })
    }
}

/// A body already read as JSON, read again as `T` (a JSON object: see [`Object`]): a value
/// of the wrong shape is `400 invalid_body` naming the field it is in (`problem::shape_error`).
pub fn read<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, actix_web::Error> {
    serde_path_to_error::deserialize::<_, Object<T>>(value)
        .map(|o| o.0)
        .map_err(problem::shape_error)
}

/// The bytes of a body read as `T` (a JSON object), straight from the text: malformed JSON is
/// `400 malformed_json`, a value of the wrong shape `400 invalid_body` naming its field. No
/// JSON tree is built first, so a large body of the wrong shape is refused at its first
/// misfit (an array where an object goes) without allocating for the rest, and a repeated
/// field is refused as serde refuses it.
pub fn from_slice<T: DeserializeOwned>(
    bytes: &[u8],
    req: &HttpRequest,
) -> Result<T, actix_web::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let read = serde_path_to_error::deserialize::<_, Object<T>>(&mut de);
    match read {
        Ok(o) => de
            .end()
            .map(|()| o.0)
            .map_err(|e| problem::json_error(JsonPayloadError::Deserialize(e), req)),
        Err(e) if e.inner().is_syntax() || e.inner().is_eof() => Err(problem::json_error(
            JsonPayloadError::Deserialize(e.into_inner()),
            req,
        )),
        Err(e) => Err(problem::shape_error(e)),
    }
}

/// A body that may be left out: nothing (or only whitespace) reads as `None`; anything else
/// must be a JSON object sent as `application/json`, or the request is refused like any other
/// bad body (an `Option<web::Json<T>>` would silently treat a bad body as an absent one).
#[derive(Debug)]
pub struct MaybeJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for MaybeJson<T> {
    type Error = actix_web::Error;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let reading = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let bytes = reading.await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(MaybeJson(None));
            }
            if !is_json(&req) {
                return Err(problem::json_error(JsonPayloadError::ContentType, &req));
            }
            from_slice(&bytes, &req).map(|t| MaybeJson(Some(t)))
        })
    }
}

/// `application/json` or any `+json` type, as `web::Json` accepts by default.
fn is_json(req: &HttpRequest) -> bool {
    req.mime_type().ok().flatten().is_some_and(|m| {
        m.type_().as_str() == "application"
            && (m.subtype().as_str() == "json" || m.suffix().is_some_and(|s| s.as_str() == "json"))
    })
}

#[cfg(test)]
mod tests {
    use super::Object;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Login {
        email: String,
        password: String,
    }

    #[test]
    fn only_an_object_reads_as_a_struct() {
        let read = |s: &str| serde_json::from_str::<Object<Login>>(s).map(|o| o.0);
        assert_eq!(
            read(r#"{"email": "a@example.com", "password": "pw"}"#).unwrap(),
            Login {
                email: "a@example.com".into(),
                password: "pw".into()
            }
        );
        // serde alone would take this as a login.
        assert!(serde_json::from_str::<Login>(r#"["a@example.com", "pw"]"#).is_ok());
        let refused = read(r#"["a@example.com", "pw"]"#).unwrap_err().to_string();
        assert!(refused.contains("a JSON object"), "{refused}");
        assert!(read("null").is_err());
        assert!(read(r#"{"email": "a@example.com"}"#).is_err());
    }
}
