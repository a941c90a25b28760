//! [`Backend`] for [`Client`]: the kernel's table.

use std::ops::ControlFlow;

use ipvs_core::{
    Backend, DestinationStatus, Info, OnError, Operation, Result, ServiceKey, ServiceStatus, SyncDaemon,
    Timeouts,
};

use super::Client;
use crate::codec::{IpvsAttr, IpvsCmd, IpvsMessage};
use crate::convert;

impl Backend for Client {
    fn info(&mut self) -> Result<Info> {
        let payload = self.get_payload(&IpvsMessage::new(IpvsCmd::GetInfo, vec![]))?;
        convert::info_from_message(&convert::message_from_genl(&payload)?)
    }

    fn services(&mut self) -> Result<Vec<ServiceStatus>> {
        self.service_dump()
    }

    fn service(&mut self, key: &ServiceKey) -> Result<ServiceStatus> {
        key.validate_lookup()?;
        let req =
            IpvsMessage::new(IpvsCmd::GetService, vec![IpvsAttr::Service(convert::service_key_attrs(key))]);
        convert::service_status_from_genl(&self.get_payload(&req)?)
    }

    /// The real servers of a service, newest first. Sent together with a GET_SERVICE for the
    /// same key, because the kernel answers a GET_DEST dump for a missing service with an empty
    /// list: a missing service is [`Error::NotFound`] of a service, as in every backend.
    fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<DestinationStatus>> {
        self.service_with_destinations(key).map(|(_, d)| d)
    }

    /// Reads the services (one dump), then each service's real servers (one dump each, as the
    /// service list is walked): only the service list and one service's real servers are held
    /// at once. A service deleted during the walk shows with no real servers (the kernel
    /// answers the real-server dump of a missing service with an empty list), as in ipvsadm's
    /// listings.
    fn for_each_service_with_destinations(
        &mut self,
        f: &mut dyn FnMut(ServiceStatus, Vec<DestinationStatus>) -> ControlFlow<()>,
    ) -> Result<()> {
        for svc in self.services()? {
            let dests = self.dest_dump(&svc.service.key)?;
            if f(svc, dests).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn timeouts(&mut self) -> Result<Timeouts> {
        let payload = self.get_payload(&IpvsMessage::new(IpvsCmd::GetConfig, vec![]))?;
        convert::timeouts_from_message(&convert::message_from_genl(&payload)?)
    }

    fn daemons(&mut self) -> Result<Vec<SyncDaemon>> {
        self.dump(&IpvsMessage::new(IpvsCmd::GetDaemon, vec![]))?.decode(convert::daemon_from_genl)
    }

    fn apply(&mut self, op: &Operation) -> Result<()> {
        self.apply_one(op)
    }

    /// See the [module docs](super#apply_all-semantics): pipelined windows with
    /// [`OnError::Continue`], one request per round trip with [`OnError::Stop`].
    fn apply_all(&mut self, ops: &[Operation], on_error: OnError) -> Vec<Result<()>> {
        self.apply_batch(ops, on_error)
    }
}
