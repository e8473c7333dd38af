//! Where things are drawn: each figure's layout (wide, and tall for narrow screens), link end
//! points on box edges, and a token's position along its link at a given time. Pure functions
//! with native tests.

use callflow_sim::scenario::{Node, Role};
use callflow_sim::{Model, NodeId, SimTime};

use crate::catalog::FigureKind;

/// A point in the SVG's user units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// A node box's size in the wide layouts; the tall ones use wider boxes (see [`Layout::box_size`]).
pub const BOX_W: f64 = 176.0;
pub const BOX_H: f64 = 84.0;
pub const BROKER_W: f64 = 180.0;
pub const BROKER_H: f64 = 100.0;

/// A log's box: room for a row per partition.
pub const LOG_W: f64 = 230.0;
pub const LOG_H: f64 = 150.0;

/// The boxes of the two consumers side by side in the log figure's tall layout.
pub const NARROW_BOX_W: f64 = 146.0;

/// The tall layouts' width, and their boxes' width: the picture is narrow so that its text is
/// large on a phone, and the boxes take most of it.
pub const TALL_W: f64 = 300.0;
pub const TALL_BOX_W: f64 = 236.0;

/// Half a token's width: tokens start and end this far outside the boxes, so that they never
/// cover a label.
pub const TOKEN_HALF_W: f64 = 19.0;

/// How far tokens travel from the link's centre line, so that the two directions do not overlap:
/// half a token's height and a little on a horizontal link, half its width on a vertical one.
pub const LANE_ACROSS_HORIZONTAL: f64 = 11.0;
pub const LANE_ACROSS_VERTICAL: f64 = 20.0;

/// The diagram's size and each node's centre, by node id.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<(&'static str, Point)>,
    pub tall: bool,
    /// Nodes drawn narrower than the layout's boxes, to sit side by side.
    pub narrow: &'static [&'static str],
}

impl Layout {
    pub fn of(kind: FigureKind, tall: bool) -> Layout {
        let p = |x, y| Point { x, y };
        let (width, height, nodes) = match (kind, tall) {
            (FigureKind::RequestResponse, false) => {
                (640.0, 110.0, vec![("a", p(100.0, 52.0)), ("b", p(540.0, 52.0))])
            }
            (FigureKind::RequestResponse, true) => {
                (TALL_W, 330.0, vec![("a", p(150.0, 50.0)), ("b", p(150.0, 280.0))])
            }
            (FigureKind::Broker, false) => (
                700.0,
                120.0,
                vec![("a", p(95.0, 58.0)), ("broker", p(350.0, 58.0)), ("b", p(605.0, 58.0))],
            ),
            (FigureKind::Broker, true) => (
                TALL_W,
                470.0,
                vec![("a", p(150.0, 50.0)), ("broker", p(150.0, 235.0)), ("b", p(150.0, 420.0))],
            ),
            (FigureKind::Hybrid, false) => (
                700.0,
                300.0,
                vec![
                    ("a", p(95.0, 50.0)),
                    ("b", p(345.0, 50.0)),
                    ("broker", p(345.0, 245.0)),
                    ("c", p(605.0, 245.0)),
                ],
            ),
            (FigureKind::Hybrid, true) => (
                TALL_W,
                640.0,
                vec![
                    ("a", p(150.0, 50.0)),
                    ("b", p(150.0, 210.0)),
                    ("broker", p(150.0, 400.0)),
                    ("c", p(150.0, 590.0)),
                ],
            ),
            (FigureKind::GraphQl, false) => (
                760.0,
                120.0,
                vec![("a", p(95.0, 58.0)), ("api", p(380.0, 58.0)), ("c", p(665.0, 58.0))],
            ),
            (FigureKind::GraphQl, true) => (
                TALL_W,
                470.0,
                vec![("a", p(150.0, 50.0)), ("api", p(150.0, 235.0)), ("c", p(150.0, 420.0))],
            ),
            (FigureKind::Log, false) => (
                760.0,
                250.0,
                vec![
                    ("a", p(95.0, 125.0)),
                    ("log", p(370.0, 125.0)),
                    ("b1", p(665.0, 55.0)),
                    ("b2", p(665.0, 195.0)),
                ],
            ),
            (FigureKind::Log, true) => (
                TALL_W,
                560.0,
                vec![
                    ("a", p(150.0, 50.0)),
                    ("log", p(150.0, 255.0)),
                    ("b1", p(76.0, 505.0)),
                    ("b2", p(224.0, 505.0)),
                ],
            ),
        };
        let narrow: &'static [&'static str] =
            if kind == FigureKind::Log && tall { &["b1", "b2"] } else { &[] };
        Layout { width, height, nodes, tall, narrow }
    }

    pub fn centre(&self, id: &str) -> Option<Point> {
        self.nodes.iter().find(|(n, _)| *n == id).map(|(_, p)| *p)
    }

    /// Where a link between `a` and `b` meets their boxes' edges, from `a`'s end to `b`'s.
    pub fn link_ends(&self, model: &Model, a: NodeId, b: NodeId) -> (Point, Point) {
        let place = |id: NodeId| {
            let n = model.node(id);
            let c = self.centre(&n.id).unwrap_or(Point { x: 0.0, y: 0.0 });
            (c, self.size_of(n))
        };
        let ((pa, (wa, ha)), (pb, (wb, hb))) = (place(a), place(b));
        (edge_point(pa, wa, ha, pb), edge_point(pb, wb, hb, pa))
    }

    /// The size of a node's box.
    pub fn size_of(&self, n: &Node) -> (f64, f64) {
        match n.role {
            Role::Log(_) => (if self.tall { TALL_BOX_W } else { LOG_W }, LOG_H),
            Role::Broker(_) => self.box_size(true),
            Role::Service(_) if self.narrow.contains(&n.id.as_str()) => (NARROW_BOX_W, BOX_H),
            Role::Service(_) => self.box_size(false),
        }
    }

    /// The size of a service's or a broker's box.
    pub fn box_size(&self, is_broker: bool) -> (f64, f64) {
        match (self.tall, is_broker) {
            (true, true) => (TALL_BOX_W, BROKER_H),
            (true, false) => (TALL_BOX_W, BOX_H),
            (false, true) => (BROKER_W, BROKER_H),
            (false, false) => (BOX_W, BOX_H),
        }
    }
}

/// Where the segment from the centre `c` of a `w`×`h` box towards `to` leaves the box.
pub fn edge_point(c: Point, w: f64, h: f64, to: Point) -> Point {
    let (dx, dy) = (to.x - c.x, to.y - c.y);
    if dx == 0.0 && dy == 0.0 {
        return c;
    }
    let sx = if dx != 0.0 { (w / 2.0) / dx.abs() } else { f64::INFINITY };
    let sy = if dy != 0.0 { (h / 2.0) / dy.abs() } else { f64::INFINITY };
    let s = sx.min(sy).min(1.0);
    Point { x: c.x + dx * s, y: c.y + dy * s }
}

/// The segment from `a` to `b` shortened by `d` at each end, unless that leaves nothing.
pub fn inset(a: Point, b: Point, d: f64) -> (Point, Point) {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len = (dx * dx + dy * dy).sqrt();
    if len <= 2.0 * d {
        return (a, b);
    }
    let (ux, uy) = (dx / len * d, dy / len * d);
    (Point { x: a.x + ux, y: a.y + uy }, Point { x: b.x - ux, y: b.y - uy })
}

/// How far along its trip a token is at `now`, from 0 (just sent) to 1 (arriving).
pub fn progress(sent: SimTime, arrives: SimTime, now: SimTime) -> f64 {
    if arrives <= sent {
        return 1.0;
    }
    let done = now.as_micros().saturating_sub(sent.as_micros()) as f64;
    (done / (arrives.as_micros() - sent.as_micros()) as f64).clamp(0.0, 1.0)
}

/// The point `t` of the way from `from` to `to`, moved to the travel direction's right by a
/// lane's width, so that traffic each way keeps its own side of the line.
pub fn along(from: Point, to: Point, t: f64) -> Point {
    let (dx, dy) = (to.x - from.x, to.y - from.y);
    let len = (dx * dx + dy * dy).sqrt();
    if len == 0.0 {
        return from;
    }
    let lane = (LANE_ACROSS_HORIZONTAL * dx.abs() + LANE_ACROSS_VERTICAL * dy.abs()) / len;
    let (nx, ny) = (-dy / len, dx / len);
    Point { x: from.x + dx * t + nx * lane, y: from.y + dy * t + ny * lane }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_runs_from_zero_to_one() {
        let (s, a) = (SimTime::from_micros(1_000), SimTime::from_micros(3_000));
        assert_eq!(progress(s, a, SimTime::from_micros(0)), 0.0);
        assert_eq!(progress(s, a, SimTime::from_micros(2_000)), 0.5);
        assert_eq!(progress(s, a, SimTime::from_micros(9_000)), 1.0);
        assert_eq!(progress(s, s, s), 1.0, "a zero-latency trip is already there");
    }

    #[test]
    fn the_two_directions_keep_apart() {
        let (a, b) = (Point { x: 0.0, y: 0.0 }, Point { x: 100.0, y: 0.0 });
        let there = along(a, b, 0.5);
        let back = along(b, a, 0.5);
        assert_eq!(there.x, 50.0);
        assert_eq!(back.x, 50.0);
        assert!((there.y - back.y).abs() >= 2.0 * LANE_ACROSS_HORIZONTAL - 1e-9);
        let (top, bottom) = (Point { x: 0.0, y: 0.0 }, Point { x: 0.0, y: 100.0 });
        let down = along(top, bottom, 0.5);
        let up = along(bottom, top, 0.5);
        assert!(
            (down.x - up.x).abs() >= 2.0 * TOKEN_HALF_W,
            "tokens on a vertical link pass clear"
        );
    }

    #[test]
    fn inset_shortens_both_ends() {
        let (a, b) = (Point { x: 0.0, y: 0.0 }, Point { x: 100.0, y: 0.0 });
        assert_eq!(inset(a, b, 10.0), (Point { x: 10.0, y: 0.0 }, Point { x: 90.0, y: 0.0 }));
        assert_eq!(inset(a, Point { x: 15.0, y: 0.0 }, 10.0), (a, Point { x: 15.0, y: 0.0 }));
    }

    #[test]
    fn links_start_on_the_box_edge() {
        let c = Point { x: 100.0, y: 100.0 };
        assert_eq!(
            edge_point(c, 150.0, 64.0, Point { x: 400.0, y: 100.0 }),
            Point { x: 175.0, y: 100.0 }
        );
        assert_eq!(
            edge_point(c, 150.0, 64.0, Point { x: 100.0, y: 400.0 }),
            Point { x: 100.0, y: 132.0 }
        );
    }

    #[test]
    fn every_figure_places_every_node_inside_the_picture() {
        for kind in FigureKind::EVERY {
            let model = kind.scenario().validate().unwrap();
            for tall in [false, true] {
                let layout = Layout::of(kind, tall);
                for n in &model.nodes {
                    let p =
                        layout.centre(&n.id).unwrap_or_else(|| panic!("{kind:?} places {}", n.id));
                    let (w, h) = layout.size_of(n);
                    assert!(
                        p.x - w / 2.0 >= 0.0 && p.x + w / 2.0 <= layout.width,
                        "{kind:?} {}",
                        n.id
                    );
                    assert!(
                        p.y - h / 2.0 >= 0.0 && p.y + h / 2.0 + 4.0 <= layout.height,
                        "{kind:?} {}",
                        n.id
                    );
                }
            }
        }
    }
}
