//! Photos that say where and when (issue 20 §4): the EXIF position and time of every
//! upload read and kept with the photo, the distance to the site worked out in PostGIS,
//! photos far from their site or long before their update flagged on the site page and in
//! the review list; browsers get pictures without EXIF, and the original only goes to
//! those who may update the site.

use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use kvpt::progress::exif::{read, strip_jpeg, Taken};
use kvpt::progress::photos::Photo;
use serde_json::Value;

use crate::common::{
    call, call_bytes, csrf_of, exif_segment, get, jpeg_with, multipart, with_cookie, TestDb,
};
use crate::progress::site_in_tan_bien as site;

#[test]
fn position_and_time_are_read_and_stripped() {
    let jpeg = jpeg_with(
        64,
        48,
        &exif_segment(106.0823, 11.5412, "2026:11:30 14:05:00", 1),
    );
    let (taken, orientation) = read(&jpeg);
    let (lon, lat) = taken.position.unwrap();
    assert!(
        (lon - 106.0823).abs() < 1e-4 && (lat - 11.5412).abs() < 1e-4,
        "{lon} {lat}"
    );
    assert_eq!(
        taken.at.unwrap().to_rfc3339(),
        "2026-11-30T07:05:00+00:00",
        "Vietnam's time"
    );
    assert_eq!(orientation, 1);
    let stripped = strip_jpeg(&jpeg).unwrap();
    assert_eq!(
        read(&stripped),
        (Taken::default(), 1),
        "nothing left to read"
    );
    assert!(
        image::load_from_memory(&stripped).is_ok(),
        "still a picture"
    );
    assert!(!stripped.windows(4).any(|w| w == b"Exif"));
}

#[test]
fn browsers_get_no_position_and_the_original_keeps_it() {
    let upload = jpeg_with(
        200,
        100,
        &exif_segment(106.1, 11.4, "2026:12:01 08:00:00", 1),
    );
    let photo = Photo::from_upload("p.jpg", upload.clone()).unwrap();
    assert_eq!(
        photo.taken.position.map(|(x, _)| (x * 10.0).round()),
        Some(1061.0)
    );
    assert!(
        !photo.image.windows(4).any(|w| w == b"Exif"),
        "the display copy"
    );
    assert!(
        !photo.thumbnail.windows(4).any(|w| w == b"Exif"),
        "the thumbnail"
    );
    assert_eq!(photo.original.as_deref(), Some(upload.as_slice()));
    // Held sideways (orientation 6): turned upright, dimensions swapped.
    let sideways = jpeg_with(
        200,
        100,
        &exif_segment(106.1, 11.4, "2026:12:01 08:00:00", 6),
    );
    let photo = Photo::from_upload("s.jpg", sideways).unwrap();
    assert_eq!((photo.width, photo.height), (100, 200));
    let shown = image::load_from_memory(&photo.image).unwrap();
    assert_eq!((shown.width(), shown.height()), (100, 200));
    // Nothing to strip: nothing kept twice.
    let plain = Photo::from_upload("n.jpg", jpeg_with(10, 10, &[])).unwrap();
    assert!(plain.original.is_none());
}

struct User {
    app: axum::Router,
    csrf: String,
}

async fn user(
    db: &TestDb,
    name: &str,
    role: UserRole,
    clearance: Classification,
    districts: &[&str],
) -> User {
    let cookie = db.sign_in(name, role, clearance, districts).await;
    let app = with_cookie(db.app(), &cookie);
    let csrf = csrf_of(&app).await;
    User { app, csrf }
}

/// A point on work `code` (longitude, latitude).
pub(crate) async fn point_on(client: &tokio_postgres::Client, code: &str) -> (f64, f64) {
    let at = client
        .query_one(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM site WHERE code = $1) x",
            &[&code],
        )
        .await
        .unwrap();
    (at.get(0), at.get(1))
}

/// "yyyy:mm:dd hh:mm:ss" of `days` ago, as a phone's EXIF writes it.
pub(crate) fn exif_time(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(7) - chrono::Duration::days(days))
        .format("%Y:%m:%d %H:%M:%S")
        .to_string()
}

/// Sends a photo as the phone's queue does; its id.
async fn upload(u: &User, code: &str, key: &str, jpeg: &[u8]) -> i64 {
    let (body, content_type) = multipart(&[], &[("photo", "anh.jpg", jpeg)]);
    let (status, _, text) = call(
        &u.app,
        "POST",
        &format!("/api/sites/{code}/photos"),
        &[
            ("x-csrf-token", u.csrf.as_str()),
            ("content-type", content_type.as_str()),
            ("idempotency-key", key),
        ],
        body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    serde_json::from_str::<Value>(&text).unwrap()["photo"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn photos_far_or_early_are_flagged_and_browsers_never_get_their_position() {
    let db = TestDb::with_demo(300, 24).await;
    let code = site(&db).await;
    let client = db.client().await;
    // A small work (its shape within 20 m of a point), so "two kilometres away" is about
    // two kilometres from all of it.
    client
        .execute(
            "UPDATE site SET geom = CASE geometry_family(geom)
                 WHEN 'point' THEN geom
                 WHEN 'line' THEN ST_MakeLine(ST_PointOnSurface(geom), ST_Translate(ST_PointOnSurface(geom), 0.0001, 0))
                 ELSE ST_Buffer(ST_PointOnSurface(geom)::geography, 20)::geometry END
              WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    let (lon, lat) = point_on(&client, &code).await;
    let engineer = user(
        &db,
        "ks.a",
        UserRole::Engineer,
        Classification::Confidential,
        &["TBI"],
    )
    .await;
    // At the site, today: no flag. Two kilometres east, twelve days ago: both flags.
    let near = upload(
        &engineer,
        &code,
        "photo-near-0001",
        &jpeg_with(400, 300, &exif_segment(lon, lat, &exif_time(0), 1)),
    )
    .await;
    let far = upload(
        &engineer,
        &code,
        "photo-far-00001",
        &jpeg_with(400, 300, &exif_segment(lon + 0.02, lat, &exif_time(12), 1)),
    )
    .await;
    let row = client
        .query_one("SELECT distance_m, taken_where IS NOT NULL, original IS NOT NULL FROM site_photo WHERE id = $1", &[&far])
        .await
        .unwrap();
    let distance: f64 = row.get(0);
    // From the work's shape (a point, a line or an area), on the spheroid.
    let expected: f64 = client
        .query_one(
            "SELECT ST_Distance(geom::geography, ST_SetSRID(ST_Point($2, $3), 4326)::geography, true)
               FROM site WHERE code = $1",
            &[&code, &(lon + 0.02), &lat],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        expected > 1000.0 && (distance - expected).abs() < 5.0,
        "{expected:.0} m on the spheroid: {distance}"
    );
    assert!(row.get::<_, bool>(1) && row.get::<_, bool>(2));
    let near_distance: f64 = client
        .query_one("SELECT distance_m FROM site_photo WHERE id = $1", &[&near])
        .await
        .unwrap()
        .get(0);
    assert!(near_distance < 50.0, "{near_distance}");

    let (status, page) = get(&engineer.app, &format!("/sites/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Chụp cách công trình 2,"),
        "the far photo says how far"
    );
    assert!(page.contains("Chụp trước cập nhật hơn 7 ngày"));
    assert_eq!(
        page.matches("class=\"photo-flag\"").count(),
        2,
        "only the far, early photo"
    );

    // What browsers get carries no EXIF; the original goes to the site's engineer only.
    for path in [format!("/photos/{far}"), format!("/photos/{far}/thumb")] {
        let (status, _, bytes) = call_bytes(&engineer.app, "GET", &path, &[], "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read(&bytes).0, Taken::default(), "{path} has no position");
        assert!(!bytes.windows(4).any(|w| w == b"Exif"), "{path}");
    }
    let (status, _, original) = call_bytes(
        &engineer.app,
        "GET",
        &format!("/photos/{far}/original"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        read(&original).0.position.is_some(),
        "the original keeps its position"
    );
    let viewer = user(&db, "xem", UserRole::Viewer, Classification::Secret, &[]).await;
    let elsewhere = user(
        &db,
        "ks.tch",
        UserRole::Engineer,
        Classification::Secret,
        &["TCH"],
    )
    .await;
    let admin = user(&db, "qt", UserRole::Admin, Classification::Secret, &[]).await;
    assert_eq!(
        call_bytes(
            &viewer.app,
            "GET",
            &format!("/photos/{far}/original"),
            &[],
            ""
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call_bytes(
            &elsewhere.app,
            "GET",
            &format!("/photos/{far}/original"),
            &[],
            ""
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call_bytes(
            &admin.app,
            "GET",
            &format!("/photos/{far}/original"),
            &[],
            ""
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        call_bytes(
            &db.app(),
            "GET",
            &format!("/photos/{far}/original"),
            &[],
            ""
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );

    // The review list: the flagged photo for its engineer and administrators, for nobody
    // whose clearance is below the site's, nor an engineer of other districts.
    let classification: String = client
        .query_one(
            "SELECT classification::text FROM site WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0);
    let rank = |c: &str| {
        Classification::ALL
            .iter()
            .position(|x| x.code() == c)
            .unwrap()
    };
    for clearance in Classification::ALL {
        let name = format!("rv.{}", clearance.code());
        let u = user(&db, &name, UserRole::Engineer, *clearance, &["TBI"]).await;
        let (status, page) = get(&u.app, "/field/photos").await;
        assert_eq!(status, StatusCode::OK);
        let cleared = rank(clearance.code()) >= rank(&classification);
        assert_eq!(
            page.contains(&format!("/photos/{far}/thumb")),
            cleared,
            "{clearance:?}"
        );
        assert!(
            !page.contains(&format!("/photos/{near}/thumb")),
            "the near photo is not flagged"
        );
    }
    let (_, page) = get(&admin.app, "/field/photos").await;
    assert!(page.contains(&format!("/photos/{far}/thumb")));
    let (_, page) = get(&elsewhere.app, "/field/photos").await;
    assert!(!page.contains(&format!("/photos/{far}/thumb")));
    assert_eq!(
        get(&viewer.app, "/field/photos").await.0,
        StatusCode::FORBIDDEN
    );
}
